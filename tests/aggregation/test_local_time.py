"""Hours and days are local to the system: DST days have 23 or 25 hours, none is merged."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregation import models as agg
from aggregation.rollups import rollup_day
from tests.aggregation.conftest import make_site
from tests.aggregation.helpers import insert, steady_inverter

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

# 1000 W for a whole local day: exactly 1 kWh in every hour that exists on the clock.
CASES = [
    ("Europe/Berlin", date(2025, 3, 30), [0, 1, *range(3, 24)], [0] * 23),
    ("Europe/Berlin", date(2025, 10, 26), [0, 1, 2, 2, *range(3, 24)], [0, 0, 0, 1] + [0] * 21),
    ("Asia/Karachi", date(2025, 3, 30), list(range(24)), [0] * 24),
]


@pytest.mark.parametrize(("tz", "day", "hours", "folds"), CASES,
                         ids=["berlin-spring", "berlin-autumn", "karachi"])
def test_a_local_day_has_one_row_per_clock_hour(db: Any, tz: str, day: date, hours: list[int],
                                                folds: list[int]) -> None:
    site = make_site(tz, meter=False)
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    insert(steady_inverter(site["inverter"], start - timedelta(minutes=1), end + timedelta(minutes=1),
                           pv_power_w=1000, step_s=30))
    rollup_day("system", day)

    rows = list(agg.InverterHourlyEnergy.objects.filter(date=day).order_by("start_utc"))
    assert [r.hour_start for r in rows] == hours
    assert [r.fold for r in rows] == folds
    assert [r.solar_energy_kwh for r in rows] == pytest.approx([1.0] * len(hours))
    assert all(r.coverage == pytest.approx(1.0) for r in rows)
    # Consecutive rows are consecutive UTC hours: nothing skipped, nothing doubled.
    assert all(b.start_utc - a.start_utc == timedelta(hours=1) for a, b in itertools.pairwise(rows))
    daily = agg.InverterDailySummary.objects.get(date=day)
    assert daily.pv_energy_kwh == pytest.approx(len(hours))
    assert daily.coverage == pytest.approx(1.0)
    assert not agg.InverterHourlyEnergy.objects.exclude(date=day).exists()
