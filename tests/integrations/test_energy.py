"""Energy sensors as Home Assistant's Energy panel needs them: right classes, never decreasing."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregation.models import RollupWatermark, SystemHourlyEnergy
from integrations.models import MqttSettings
from integrations.mqtt.config import effective_config
from integrations.mqtt.publisher import Publisher
from tests import factories as f

pytestmark = pytest.mark.django_db

KARACHI = ZoneInfo("Asia/Karachi")
ENERGY_UNITS = {"Wh", "kWh", "MWh"}


def _hour(day: date, hour: int, pv: float, imp: float) -> None:
    """A rolled-up hour, closed as the periodic rollup closes it (today's stored part ends there)."""
    start = datetime(day.year, day.month, day.day, hour, tzinfo=KARACHI).astimezone(UTC)
    SystemHourlyEnergy.objects.update_or_create(
        system_id="system", date=day, hour_start=hour, fold=0,
        defaults={"start_utc": start, "solar_energy_kwh": pv, "grid_import_energy_kwh": imp,
                  "load_energy_kwh": pv + imp})
    # The periodic rollup has closed the hour: today's energy reads it from the rollups.
    RollupWatermark.objects.update_or_create(
        device_type="inverter", device_id="inv1",
        defaults={"system_id": "system", "closed_until": max(start + timedelta(hours=1), _closed())})


def _closed() -> datetime:
    mark = RollupWatermark.objects.filter(device_id="inv1").first()
    return mark.closed_until if mark else datetime.min.replace(tzinfo=UTC)


def _publisher() -> Publisher:
    MqttSettings(enabled=False, broker_url="mqtt://127.0.0.1:1").save()
    pub = Publisher(effective_config())
    pub.sync_catalog()
    return pub


def _system_state(pub: Publisher, now: datetime) -> dict[str, Any]:
    pub.invalidate_energy()
    dev = pub.world.devices[("system", "system")]
    pub.publish_state(dev, now)
    return json.loads(pub.image[pub.naming.state_topic(dev)])


@pytest.fixture
def installation() -> None:
    sys = f.system("system", timezone="Asia/Karachi")
    arr = f.array("array1", sys)
    f.inverter("inv1", arr)


def test_energy_sensors_have_the_classes_and_units_the_energy_panel_accepts(installation: None) -> None:
    pub = _publisher()
    energy = [c for payload in pub.configs().values() for c in json.loads(payload)["cmps"].values()
              if c.get("device_class") == "energy"]
    assert len(energy) >= 6 * 3  # inverter, array and system lifetime totals, and today's
    for sensor in energy:
        assert sensor["unit_of_measurement"] in ENERGY_UNITS
        assert sensor["state_class"] in ("total", "total_increasing")
        # "total" needs its cycle start; "total_increasing" must not have one
        assert ("last_reset_value_template" in sensor) == (sensor["state_class"] == "total")


def test_today_and_lifetime_never_decrease_across_a_day_and_midnight(installation: None) -> None:
    pub = _publisher()
    day = date(2026, 3, 10)
    seen: list[dict[str, Any]] = []
    for hour in range(6, 20):
        _hour(day, hour, pv=1.0, imp=0.2)
        seen.append(_system_state(pub, datetime(day.year, 3, 10, hour, 30, tzinfo=KARACHI)))
    # A recompute lowers the morning (a late sample, a counter glitch rejected): still no drop.
    _hour(day, 6, pv=0.1, imp=0.0)
    seen.append(_system_state(pub, datetime(2026, 3, 10, 20, 30, tzinfo=KARACHI)))
    assert seen[-1]["pv_today_kwh"] == pytest.approx(14.0)
    # Midnight: a new cycle starts from the new day's energy, at the new local midnight.
    _hour(day + timedelta(days=1), 0, pv=0.0, imp=0.4)
    after = _system_state(pub, datetime(2026, 3, 11, 0, 40, tzinfo=KARACHI))
    seen.append(after)

    for before, later in itertools.pairwise(seen):
        for key in ("pv_total_kwh", "grid_import_total_kwh", "load_total_kwh"):
            assert later[key] >= before[key], key
        if later["last_reset"] == before["last_reset"]:
            for key in ("pv_today_kwh", "grid_import_today_kwh"):
                assert later[key] >= before[key], key
    assert datetime.fromisoformat(seen[0]["last_reset"]) == datetime(2026, 3, 10, tzinfo=KARACHI)
    assert datetime.fromisoformat(after["last_reset"]) == datetime(2026, 3, 11, tzinfo=KARACHI)
    assert after["grid_import_today_kwh"] == pytest.approx(0.4)
    assert after["pv_today_kwh"] == pytest.approx(0.0)
    assert after["pv_total_kwh"] == pytest.approx(14.0)  # held at its mark: the recompute lost 0.9


def test_a_restarted_publisher_does_not_publish_below_what_was_published(installation: None) -> None:
    first = _publisher()
    _hour(date(2026, 3, 10), 10, pv=5.0, imp=1.0)
    now = datetime(2026, 3, 10, 11, tzinfo=KARACHI)
    assert _system_state(first, now)["pv_total_kwh"] == pytest.approx(5.0)
    _hour(date(2026, 3, 10), 10, pv=4.0, imp=1.0)  # recomputed lower while the worker restarts
    restarted = Publisher(effective_config())
    restarted.guard = type(first.guard).load()
    restarted.sync_catalog()
    state = _system_state(restarted, now)
    assert state["pv_total_kwh"] == pytest.approx(5.0)
    assert state["pv_today_kwh"] == pytest.approx(5.0)
