"""Array and system totals: fresh children only, grid counted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from catalog import models as m
from telemetry import models as t
from telemetry.derive import derive_missed, derive_samples
from tests import factories as f

pytestmark = pytest.mark.django_db
TS = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _inverter_sample(inverter_id: str, ts: datetime, pv: int, grid: int) -> None:
    inv = t.EnergySample(ts=ts, inverter_id=inverter_id, array_id="a1", system_id="system",
                         pv_power_w=pv, load_power_w=500, grid_power_w=grid, batt_power_w=0)
    inv.save(force_insert=True)
    t.DeviceStatus.objects.update_or_create(device_type="inverter", device_id=inverter_id,
                                            defaults={"system_id": "system", "poll_interval_s": 5.0})


def test_a_stale_inverter_is_left_out_of_the_array_total() -> None:
    sys = f.system()
    arr = f.array("a1", sys)
    f.inverter("fresh", arr)
    f.inverter("stuck", arr)
    _inverter_sample("fresh", TS, pv=3000, grid=-100)
    _inverter_sample("stuck", TS - timedelta(seconds=60), pv=2000, grid=50)  # 12 intervals old
    derive_samples("system", TS)
    row = t.ArraySample.objects.get(array_id="a1")
    assert (row.pv_power_w, row.inverters_reporting, row.inverters_total) == (3000, 1, 2)


def test_without_a_meter_the_system_grid_is_the_sum_of_the_arrays() -> None:
    sys = f.system()
    arr = f.array("a1", sys)
    f.inverter("i1", arr)
    f.inverter("i2", arr)
    _inverter_sample("i1", TS, pv=1000, grid=200)
    _inverter_sample("i2", TS, pv=1000, grid=-50)
    derive_samples("system", TS)
    system = t.SystemSample.objects.get()
    assert (system.grid_power_w, system.grid_source) == (150, "inverters")


def test_a_system_meter_replaces_the_inverters_grid_figure() -> None:
    sys = f.system()
    arr = f.array("a1", sys)
    f.inverter("i1", arr)
    f.meter("m1", sys)
    _inverter_sample("i1", TS, pv=1000, grid=200)
    t.MeterSample(ts=TS, meter_id="m1", system_id="system", grid_power_w=-700).save(force_insert=True)
    t.DeviceStatus.objects.create(device_type="meter", device_id="m1", system_id="system", poll_interval_s=5)
    derive_samples("system", TS)
    system = t.SystemSample.objects.get()
    assert (system.grid_power_w, system.grid_source) == (-700, "meter")
    # The array keeps its own inverters' grid figure.
    assert t.ArraySample.objects.get().grid_power_w == 200


def test_deriving_twice_updates_in_place() -> None:
    sys = f.system()
    f.inverter("i1", f.array("a1", sys))
    _inverter_sample("i1", TS, pv=1000, grid=0)
    derive_samples("system", TS)
    derive_samples("system", TS)
    assert t.ArraySample.objects.count() == 1 and t.SystemSample.objects.count() == 1


def _pack_sample(pack: m.BatteryPack, ts: datetime, soc: float) -> None:
    t.BatteryBankSample(ts=ts, pack_id=pack.pk, battery_array_id=pack.battery_array_id, system_id="system",
                        soc=soc, power_w=0).save(force_insert=True)
    t.DeviceStatus.objects.update_or_create(device_type="battery_pack", device_id=pack.pk,
                                            defaults={"system_id": "system", "poll_interval_s": 5.0})


def test_an_empty_pack_counts_as_zero_percent_not_as_missing() -> None:
    sys = f.system()
    arr = f.array("a1", sys)
    ba = f.battery_array("ba1", sys)
    f.attach(ba, arr)
    f.inverter("i1", arr)
    pack = f.pack("p1", ba, nominal_kwh=10.0)
    _inverter_sample("i1", TS, pv=0, grid=300)
    t.EnergySample.objects.filter(inverter_id="i1").update(soc=50.0)  # the inverter's own estimate
    _pack_sample(pack, TS, soc=0.0)
    derive_samples("system", TS)
    assert t.ArraySample.objects.get().batt_soc_pct == 0.0
    assert t.SystemSample.objects.get().batt_soc_pct == 0.0


def test_slots_whose_totals_were_never_derived_are_caught_up_once() -> None:
    sys = f.system()
    f.inverter("i1", f.array("a1", sys))
    f.meter("m1", sys)
    _inverter_sample("i1", TS, pv=1000, grid=100)
    derive_samples("system", TS)
    # A worker died after committing these samples, before their totals.
    _inverter_sample("i1", TS + timedelta(seconds=5), pv=1100, grid=100)
    t.MeterSample(ts=TS + timedelta(seconds=7), meter_id="m1", system_id="system",
                  grid_power_w=-50).save(force_insert=True)
    since, until = TS - timedelta(minutes=15), TS + timedelta(minutes=1)
    assert derive_missed("system", since, until) == 2
    assert list(t.SystemSample.objects.order_by("ts").values_list("pv_power_w", "grid_power_w")) == [
        (1000, 100), (1100, 100), (1100, -50)]
    assert derive_missed("system", since, until) == 0


def _vm_steps(run: Any) -> int:
    """SQLite virtual-machine steps ``run`` takes (in thousands): work, not time."""
    from django.db import connection

    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    connection.ensure_connection()
    connection.connection.set_progress_handler(count, 1000)
    try:
        run()
    finally:
        connection.connection.set_progress_handler(None, 0)
    return steps[0]


def _history(inverter_id: str, until: datetime, count: int) -> None:
    t.EnergySample.objects.bulk_create(
        [t.EnergySample(ts=until - timedelta(seconds=5 * n), inverter_id=inverter_id, array_id="a1",
                        system_id="system", pv_power_w=1000, load_power_w=500, grid_power_w=0,
                        batt_power_w=0) for n in range(1, count + 1)], batch_size=5000)


def test_a_slots_totals_cost_the_same_whatever_the_history_kept(settings: Any) -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("counts SQLite's own steps; PostgreSQL's planner picks its index by statistics")
    sys = f.system()
    arr = f.array("a1", sys)
    f.inverter("i1", arr)
    _history("i1", TS - timedelta(days=20), 3_000)  # four hours, three weeks ago
    _inverter_sample("i1", TS, pv=1000, grid=0)
    short = _vm_steps(lambda: derive_samples("system", TS))
    _history("i1", TS - timedelta(days=1), 30_000)  # two more days of raw samples
    long = _vm_steps(lambda: derive_samples("system", TS))
    missed = _vm_steps(lambda: derive_missed("system", TS - timedelta(minutes=15), TS))
    assert t.SystemSample.objects.get(ts=TS).pv_power_w == 1000
    assert long <= short * 1.5 + 5, (short, long)
    assert missed <= short * 3 + 5, (short, missed)
