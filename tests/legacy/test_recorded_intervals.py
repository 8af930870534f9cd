"""History sampled less often than solarmon polls now is integrated at its own spacing (and no
further), even across several quarter-hour slots per interval."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from aggregation import models as am
from aggregation.rollups import rollup_day
from telemetry import models as t
from telemetry.choices import DeviceKind
from tests.aggregation.conftest import make_site

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

DAY = date(2026, 1, 20)
START = datetime(2026, 1, 19, 19, 0, tzinfo=UTC)  # local midnight in Asia/Karachi


def _pack_every(seconds: int, site: dict[str, Any], watts: float = 1000.0) -> None:
    pack = site["pack"]
    rows = [t.BatteryBankSample(ts=START + timedelta(seconds=s), pack=pack, system_id=pack.system_id,
                                battery_array_id=pack.battery_array_id, voltage=50.0, current=watts / 50.0,
                                power_w=watts)
            for s in range(0, 86400 + seconds, seconds)]
    t.BatteryBankSample.objects.bulk_create(rows)


def test_a_recorded_interval_bridges_its_own_spacing() -> None:
    site = make_site("Asia/Karachi", meter=False)
    _pack_every(2400, site)  # every 40 minutes: an interval spans up to three quarter-hour slots
    rollup_day("system", DAY)
    assert am.BatteryBankDaily.objects.get(date=DAY).charge_energy_kwh == pytest.approx(0.0)
    am.RecordedInterval.objects.create(device_type=DeviceKind.BATTERY_PACK, device_id="battery1", start=START,
                                       end=START + timedelta(days=1), interval_s=2400)
    rollup_day("system", DAY)
    day = am.BatteryBankDaily.objects.get(date=DAY)
    assert day.charge_energy_kwh == pytest.approx(24.0)
    hours = am.BatteryBankHourly.objects.filter(date=DAY)
    assert hours.count() == 24
    assert all(h.charge_energy_kwh == pytest.approx(1.0) for h in hours)


def test_a_gap_longer_than_its_recorded_interval_allows_stays_a_gap() -> None:
    site = make_site("Asia/Karachi", meter=False)
    _pack_every(600, site)
    t.BatteryBankSample.objects.filter(ts__gt=START + timedelta(hours=6),
                                       ts__lt=START + timedelta(hours=9)).delete()
    am.RecordedInterval.objects.create(device_type=DeviceKind.BATTERY_PACK, device_id="battery1", start=START,
                                       end=START + timedelta(days=1), interval_s=600)
    rollup_day("system", DAY)
    assert am.BatteryBankDaily.objects.get(date=DAY).charge_energy_kwh == pytest.approx(21.0)
