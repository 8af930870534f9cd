"""The 5-minute tiers: written by the rollup, they keep what the hourly and daily rows are made of."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection

from aggregation import models as agg
from aggregation.buckets import local_day
from aggregation.daydata import DayData, raw_slots, tier_slots
from aggregation.levels import build_rows
from aggregation.rollups import rollup_day
from aggregation.topology import Topology
from catalog import models as catalog
from telemetry import models as t
from telemetry.derive import derive_samples
from tests import factories as f
from tests.aggregation.plantdata import (
    fast_insert,
    inverter_sample,
    local_bounds,
    meter_sample,
    pack_sample,
    plant_for,
    times,
)

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

DAY = "2025-06-10"
TZ = "Asia/Karachi"


def _plant_day(site: dict[str, Any], *, hours: int = 24) -> tuple[Any, Any]:
    start, _ = local_bounds(DAY, TZ)
    end = start + timedelta(hours=hours)
    plant = plant_for(start - timedelta(minutes=5))
    states = [plant.state(ts) for ts in times(start - timedelta(minutes=1), end - timedelta(seconds=5))]
    fast_insert([inverter_sample(site["inverter"], s) for s in states])
    fast_insert([meter_sample(site["meter"], s) for s in states])
    fast_insert([pack_sample(site["pack"], s) for s in states])
    return start, end


def _rows(data: DayData, topo: Topology) -> dict[str, list[dict[str, Any]]]:
    return {model._meta.db_table: sorted(rows, key=lambda r: sorted((k, str(v)) for k, v in r.items()))
            for model, rows in build_rows(topo, data).items()}


def test_hours_and_days_rebuilt_from_tiers_are_those_rebuilt_from_raw_samples(site: dict[str, Any]) -> None:
    _plant_day(site)
    day = date.fromisoformat(DAY)
    rollup_day("system", day)
    topo = Topology.load(site["system"])
    bounds = local_day(day, topo.tz)
    from_raw = _rows(DayData(bounds, raw_slots(topo, bounds.start_utc, bounds.end_utc)), topo)
    from_tiers = _rows(DayData(bounds, tier_slots(topo, bounds.start_utc, bounds.end_utc)), topo)

    assert from_raw.keys() == from_tiers.keys()
    for table, rows in from_raw.items():
        assert len(rows) == len(from_tiers[table]), table
        for raw, tiered in zip(rows, from_tiers[table], strict=True):
            assert raw.keys() == tiered.keys()
            for key, value in raw.items():
                expected = pytest.approx(value, rel=1e-9, abs=1e-9) if isinstance(value, float) else value
                assert tiered[key] == expected, (table, key)
    assert from_raw["hourly_energy"]  # the day had something to compare


def test_tiers_hold_each_slots_energy_and_extremes(site: dict[str, Any]) -> None:
    start, _ = _plant_day(site, hours=2)
    rollup_day("system", date.fromisoformat(DAY))

    tiers = list(agg.InverterTier.objects.filter(inverter_id="inv1").order_by("ts"))
    assert len(tiers) == 2 * 12  # two hours of 5-minute slots
    assert tiers[0].ts == start
    first_hour = agg.InverterHourlyEnergy.objects.get(inverter_id="inv1", date=DAY, hour_start=0)
    assert sum(x.load_energy_kwh or 0 for x in tiers[:12]) == pytest.approx(first_hour.load_energy_kwh)
    samples = t.EnergySample.objects.filter(inverter_id="inv1", ts__gte=start,
                                            ts__lt=start + timedelta(minutes=5))
    loads = [s.load_power_w or 0 for s in samples]
    assert tiers[0].sample_count == len(loads) == 60
    assert (tiers[0].load_power_w_min, tiers[0].load_power_w_max) == (min(loads), max(loads))
    assert tiers[0].load_power_w_avg == pytest.approx(sum(loads) / len(loads))
    assert agg.PackTier.objects.filter(pack_id="battery1").count() == 24
    assert agg.MeterTier.objects.filter(meter_id="grid_meter_1").count() == 24


def test_cell_tiers_keep_the_extremes_of_the_detail_rows_and_the_pack_hour_keeps_the_band(
        site: dict[str, Any]) -> None:
    pack = f.pack("pack2", site["battery_array"], batteries=1, cells=2)
    cells = list(catalog.BatteryCell.objects.filter(pack=pack).order_by("cell_index"))
    start, _ = local_bounds(DAY, TZ)
    rows: list[Any] = []
    for minute in range(5):
        ts = start + timedelta(minutes=minute)
        rows.append(t.BatteryBankSample(ts=ts, pack=pack, battery_array_id=pack.battery_array_id,
                                        system_id=pack.system_id, power_w=0.0, soc=50.0))
        readings = [(3.30, 3.28, 3.31), (3.32, 3.05 if minute == 2 else 3.31, 3.45)]
        for cell, (volts, low, high) in zip(cells, readings, strict=True):
            rows.append(t.BatteryCellSample(ts=ts, cell_ref=cell, battery_id=cell.battery_id, pack=pack,
                                            battery_array_id=pack.battery_array_id, system_id=pack.system_id,
                                            power=1, cell=cell.cell_index, voltage=volts, voltage_min=low,
                                            voltage_max=high))
    for row in rows:
        row.save(force_insert=True)
    rollup_day("system", date.fromisoformat(DAY))

    tier = {c.cell_id: c for c in agg.CellTier.objects.filter(pack=pack, ts=start)}
    assert (tier[cells[1].pk].voltage_min, tier[cells[1].pk].voltage_max) == (3.05, 3.45)
    assert tier[cells[0].pk].voltage_avg == pytest.approx(3.30)
    assert tier[cells[0].pk].sample_count == 5
    hour = agg.BatteryBankHourly.objects.get(pack=pack, date=DAY, hour_start=0)
    assert (hour.min_cell_voltage_v, hour.max_cell_voltage_v) == (3.05, 3.45)
    assert hour.avg_cell_voltage_v == pytest.approx(3.31)
    daily = agg.BatteryBankDaily.objects.get(pack=pack, date=DAY)
    assert (daily.min_cell_voltage_v, daily.max_cell_voltage_v) == (3.05, 3.45)


def test_array_and_system_tiers_average_their_live_totals(site: dict[str, Any]) -> None:
    start, _ = local_bounds(DAY, TZ)
    for n in range(6):
        ts = start + timedelta(seconds=50 * n)
        t.EnergySample(ts=ts, inverter=site["inverter"], array=site["array"], system=site["system"],
                       pv_power_w=1000 * n, load_power_w=400, grid_power_w=0,
                       batt_power_w=0).save(force_insert=True)
        t.DeviceStatus.objects.update_or_create(device_type="inverter", device_id="inv1",
                                                defaults={"system": site["system"], "poll_interval_s": 50.0})
        derive_samples("system", ts)
    rollup_day("system", date.fromisoformat(DAY))

    array = agg.ArrayTier.objects.get(array_id="array1", ts=start)
    system = agg.SystemTier.objects.get(system_id="system", ts=start)
    assert array.sample_count == system.sample_count == 6
    assert (array.pv_power_w_min, array.pv_power_w_max, array.pv_power_w_avg) == (0, 5000, 2500)
    assert system.pv_power_w_avg == 2500


def test_rolling_a_day_again_replaces_its_tiers(site: dict[str, Any]) -> None:
    _plant_day(site, hours=1)
    day = date.fromisoformat(DAY)
    rollup_day("system", day)

    def tiers() -> list[Any]:
        columns = ("ts", "solar_energy_kwh", "sample_count")
        return list(agg.InverterTier.objects.order_by("ts").values_list(*columns))

    first = tiers()
    rollup_day("system", day)
    assert tiers() == first
    t.EnergySample.objects.all().delete()
    rollup_day("system", day)
    assert not agg.InverterTier.objects.exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a storage layout of SQLite")
def test_tier_tables_are_stored_without_a_rowid() -> None:
    with connection.cursor() as cursor:
        for model in agg.TIER_MODELS:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [model._meta.db_table])
            assert cursor.fetchone()[0].rstrip().endswith("WITHOUT ROWID"), model._meta.db_table
