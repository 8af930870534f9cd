"""Each rule kind on the rows a poll writes (through ``samples_written``), a rollup or the disk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from aggregation.periodic import rollup_recent
from aggregation.rollups import rollup_day
from alerts.evaluation import evaluate_periodic
from alerts.models import Alert
from telemetry import ingest
from telemetry import models as t
from tests import factories as f
from tests.alerts.conftest import rule

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


_COMMIT: list[Any] = []


def write(rows: list[Any]) -> None:
    """Write one poll's rows; its on-commit callbacks (``samples_written``) run as in production."""
    with _COMMIT[0](execute=True):
        ingest.write_rows(rows)


@pytest.fixture
def site(django_capture_on_commit_callbacks: Any) -> Iterator[dict[str, Any]]:
    """A system with an inverter, a grid meter and a pack of one unit of four cells."""
    sys = f.system("system", timezone="UTC")
    arr = f.array("array1", sys)
    ba = f.battery_array("battery_array1", sys)
    _COMMIT[:] = [django_capture_on_commit_callbacks]
    yield {"inverter": f.inverter("inv1", arr), "meter": f.meter("grid_meter_1", sys, type="grid"),
           "pack": f.pack("pack1", ba, batteries=1, cells=4)}
    _COMMIT.clear()


def inverter_poll(at: datetime, **values: Any) -> None:
    write([t.EnergySample(ts=at, inverter_id="inv1", array_id="array1", system_id="system", **values)])


def meter_poll(at: datetime, volts: float) -> None:
    write([t.MeterSample(ts=at, meter_id="grid_meter_1", system_id="system", grid_voltage_v=volts)])


def pack_poll(at: datetime, *, soc: float = 60.0, current: float = -5.0,
              temps: tuple[float, ...] = (20.0,) * 4,
              cells: tuple[float, ...] = (3.30, 3.31, 3.30, 3.29)) -> None:
    scope = {"pack_id": "pack1", "battery_array_id": "battery_array1", "system_id": "system"}
    rows: list[Any] = [t.BatteryBankSample(ts=at, soc=soc, current=current, temperature=max(temps), **scope)]
    rows += [t.BatteryCellSample(ts=at, cell_ref_id=f"pack1_b0_c{i}", battery_id="pack1_b0", power=1, cell=i,
                                 voltage=v, temperature=c, **scope)
             for i, (v, c) in enumerate(zip(cells, temps, strict=True))]
    write(rows)


def states(key: str) -> list[tuple[str, str]]:
    return [(a.device_id, a.state) for a in Alert.objects.filter(rule__key=key).order_by("raised_at")]


def test_grid_lost_is_one_alert_per_system_and_grid_back_clears_it(site: dict[str, Any]) -> None:
    rule("grid-lost", raise_after_s=10, clear_after_s=10)
    for s in range(0, 30, 5):  # inverter and meter both see the outage; the house runs on battery
        inverter_poll(T0 + timedelta(seconds=s), grid_voltage_v=0.0, load_power_w=800, batt_power_w=-900)
        meter_poll(T0 + timedelta(seconds=s, milliseconds=500), 0.0)
    alert = Alert.objects.get(rule__key="grid-lost")
    assert (alert.device_type, alert.device_id) == ("system", "system")
    assert alert.title == "Grid lost at System system"
    assert alert.raised_at == T0 + timedelta(seconds=10)
    for s in range(30, 60, 5):
        meter_poll(T0 + timedelta(seconds=s), 231.0)
    alert.refresh_from_db()
    assert alert.state == "cleared" and alert.headline() == "Grid back at System system"
    assert states("grid-lost") == [("system", "cleared")]


def test_an_inverter_without_grid_serving_nothing_is_not_a_grid_outage(site: dict[str, Any]) -> None:
    rule("grid-lost", raise_after_s=0)
    inverter_poll(T0, grid_voltage_v=0.0, load_power_w=0, batt_power_w=0)
    assert not Alert.objects.exists()


def test_low_soc_clears_only_past_its_hysteresis(site: dict[str, Any]) -> None:
    rule("soc-low", low=20.0, hysteresis=5.0, raise_after_s=0, clear_after_s=0)
    pack_poll(T0, soc=18.0)
    pack_poll(T0 + timedelta(seconds=10), soc=22.0)  # above the limit, inside the band
    assert states("soc-low") == [("pack1", "active")]
    pack_poll(T0 + timedelta(seconds=20), soc=26.0)
    assert states("soc-low") == [("pack1", "cleared")]
    assert Alert.objects.get().values == {"soc": 18.0}


def test_charging_a_cold_pack_is_raised_but_discharging_it_is_not(site: dict[str, Any]) -> None:
    rule("charge-temperature", raise_after_s=0, clear_after_s=0)
    pack_poll(T0, current=-20.0, temps=(-3.0, -2.5, -2.0, -2.0))
    assert not Alert.objects.filter(rule__key="charge-temperature").exists()
    pack_poll(T0 + timedelta(seconds=10), current=15.0, temps=(-3.0, -2.5, -2.0, -2.0))
    alert = Alert.objects.get(rule__key="charge-temperature")
    assert alert.values["min_c"] == -3.0 and alert.values["current_a"] == 15.0
    pack_poll(T0 + timedelta(seconds=20), current=0.0, temps=(-3.0, -2.5, -2.0, -2.0))  # charging stopped
    assert states("charge-temperature") == [("pack1", "cleared")]


def test_a_hot_cell_or_a_cell_beyond_its_voltage_limit_is_raised(site: dict[str, Any]) -> None:
    rule("battery-temperature", raise_after_s=0)
    rule("cell-voltage", raise_after_s=0)
    pack_poll(T0, temps=(30.0, 52.5, 31.0, 30.0), cells=(3.30, 3.31, 3.65, 3.29))
    hot = Alert.objects.get(rule__key="battery-temperature")
    assert hot.values["max_c"] == 52.5 and hot.values["max_at"] == "pack1_b0_c1"
    high = Alert.objects.get(rule__key="cell-voltage")
    assert high.values["max_v"] == 3.65 and high.values["max_cell"] == "pack1_b0_c2"


def test_disk_space_is_raised_below_its_limit_and_cleared_above_it(site: dict[str, Any]) -> None:
    # The data disk holds the test database, so it is less than 100 % free (shown rounded to
    # 0.1 %: on the tests' own 8 GB disk that can read 100.0).
    disk = rule("disk-space", low=100.0, hysteresis=0.0)
    evaluate_periodic()
    alert = Alert.objects.get(rule=disk)
    assert alert.device_type == "host" and 0 < alert.values["free_pct"] <= 100
    assert alert.values["free_mb"] < alert.values["total_mb"]
    evaluate_periodic()
    assert Alert.objects.filter(rule=disk).count() == 1
    rule("disk-space", low=0.001)
    evaluate_periodic()
    assert states("disk-space") == [(alert.device_id, "cleared")]


def test_too_many_counter_glitches_in_a_day_are_raised_after_the_rollup(site: dict[str, Any]) -> None:
    rule("counter-glitches", high=3)
    inv = site["inverter"]
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    if start.date() != timezone.now().date():
        start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    # A counter that jumps back and forth: every backward step is a rejected reading.
    rows = [t.EnergySample(ts=start + timedelta(seconds=10 * i), inverter=inv, array_id="array1",
                           system_id="system", pv_power_w=1000,
                           pv_total_kwh=100.0 + i * 0.003 - (i % 2) * 0.5)
            for i in range(40)]
    t.EnergySample.objects.bulk_create(rows)
    with _COMMIT[0](execute=True):
        rollup_day("system", timezone.now().date())
    alert = Alert.objects.get(rule__key="counter-glitches")
    assert alert.device_id == "inv1" and alert.values["glitches"] > 3


def test_counter_glitches_are_raised_by_the_periodic_rollup_before_the_day_is_over(site: dict[str, Any]
                                                                                   ) -> None:
    rule("counter-glitches", high=3)
    now = timezone.now()
    start = now - timedelta(minutes=30)
    if start.date() != now.date():  # the rule counts today's glitches
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = [t.EnergySample(ts=start + timedelta(seconds=10 * i), inverter=site["inverter"], array_id="array1",
                           system_id="system", pv_power_w=1000,
                           pv_total_kwh=100.0 + i * 0.003 - (i % 2) * 0.5)
            for i in range(40)]
    t.EnergySample.objects.bulk_create(rows)
    with _COMMIT[0](execute=True):
        rollup_recent(now=now + timedelta(hours=1))  # the periodic run closes the slots: no full-day rollup
    alert = Alert.objects.get(rule__key="counter-glitches")
    assert alert.device_id == "inv1" and alert.values["glitches"] > 3
    # A later run that finds nothing new keeps the day's count: the alert stays, once.
    with _COMMIT[0](execute=True):
        rollup_recent(now=now + timedelta(hours=2))
    assert Alert.objects.get(rule__key="counter-glitches").state == "active"
