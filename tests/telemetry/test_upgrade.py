"""Upgrading a database with samples and rollups from the first schema keeps every row and leaves
each table its key and the spec's indexes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

TS = datetime(2025, 6, 1, 7, 0, 5, tzinfo=UTC)
FIRST = [("telemetry", "0001_initial"), ("aggregation", "0001_initial")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def _seed(apps: Any) -> None:
    """One row in every sample table and an hourly rollup, written with the first schema's models."""
    get = apps.get_model
    sys = get("catalog", "System").objects.create(system_id="system", name="S", timezone="UTC")
    arr = get("catalog", "InverterArray").objects.create(array_id="a1", system=sys, name="A")
    inv = get("catalog", "Inverter").objects.create(inverter_id="inv1", array=arr, system=sys, name="I")
    ba = get("catalog", "BatteryArray").objects.create(battery_array_id="ba1", system=sys, name="B")
    pack = get("catalog", "BatteryPack").objects.create(pack_id="p1", battery_array=ba, system=sys, name="P")
    bat = get("catalog", "Battery").objects.create(battery_id="p1_b0", pack=pack, battery_array=ba,
                                                   system=sys, battery_index=0)
    cell = get("catalog", "BatteryCell").objects.create(cell_id="p1_b0_c0", battery=bat, pack=pack,
                                                        battery_array=ba, system=sys, cell_index=0)
    meter = get("catalog", "Meter").objects.create(meter_id="m1", system=sys, name="M")
    get("telemetry", "EnergySample").objects.create(ts=TS, inverter=inv, array=arr, system=sys,
                                                    pv_power_w=1234, pv_total_kwh=100.5)
    get("telemetry", "ArraySample").objects.create(ts=TS, array=arr, system=sys, pv_power_w=1234)
    get("telemetry", "SystemSample").objects.create(ts=TS, system=sys, pv_power_w=1234)
    get("telemetry", "MeterSample").objects.create(ts=TS, meter=meter, system=sys, grid_power_w=-50,
                                                   grid_import_wh=4000)
    get("telemetry", "BatteryBankSample").objects.create(ts=TS, pack=pack, battery_array=ba, system=sys,
                                                         soc=61.5)
    get("telemetry", "BatteryUnitSample").objects.create(ts=TS, battery=bat, pack=pack, battery_array=ba,
                                                         system=sys, power=1, voltage=52.1)
    get("telemetry", "BatteryCellSample").objects.create(ts=TS, cell_ref=cell, battery=bat, pack=pack,
                                                         battery_array=ba, system=sys, power=1, cell=0,
                                                         voltage=3.301)
    get("aggregation", "InverterHourlyEnergy").objects.create(
        inverter=inv, array=arr, system=sys, date=date(2025, 6, 1), hour_start=7, start_utc=TS,
        solar_energy_kwh=1.25)


def _sample_values() -> dict[str, list[tuple[Any, ...]]]:
    queries = {"energy_samples": "inverter_id, pv_power_w, pv_total_kwh",
               "array_samples": "array_id, pv_power_w", "system_samples": "system_id, pv_power_w",
               "meter_samples": "meter_id, grid_power_w, grid_import_wh",
               "battery_bank_samples": "pack_id, soc", "battery_unit_samples": "battery_id, voltage",
               "battery_cell_samples": "cell_id, voltage", "hourly_energy": "inverter_id, solar_energy_kwh"}
    out = {}
    with connection.cursor() as cursor:
        for table, columns in queries.items():
            cursor.execute(f"SELECT {columns} FROM {table}")
            out[table] = cursor.fetchall()
    return out


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {name for name, info in found.items() if info["index"] and not info["primary_key"]}


def test_the_upgrade_keeps_the_samples_and_rollups_and_drops_only_unused_indexes() -> None:
    old = _migrate(FIRST)
    try:
        _seed(old)
        before = _sample_values()
        assert "idx_battery_cell_samples_ts" in _indexes("battery_cell_samples")
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

        assert _sample_values() == before
        assert all(rows for rows in before.values())
        cells = _indexes("battery_cell_samples")
        assert cells == {"idx_battery_cell_samples_system_id"}  # the spec's, no Django FK indexes
        assert _indexes("energy_samples") == {"idx_energy_samples_system_id", "idx_energy_samples_array_id"}
        # the rollups too: their key and the spec's indexes (the Django ones were written at every upsert)
        assert _indexes("hourly_energy") == {"idx_hourly_energy_system_id", "idx_hourly_energy_array_id",
                                             "idx_hourly_energy_date"}
        spec = {f"idx_battery_bank_daily_{c}" for c in ("pack_id", "system_id", "date")}
        assert _indexes("battery_bank_daily") == spec
        with connection.cursor() as cursor:
            cursor.execute("SELECT voltage_min, voltage_max FROM battery_cell_samples")
            assert cursor.fetchall() == [(None, None)]
            # the database checks a sample's own device only (dropped in place, the rows kept)
            checked = {table: sorted(info["columns"][0] for info in
                                     connection.introspection.get_constraints(cursor, table).values()
                                     if info["foreign_key"])
                       for table in ("energy_samples", "battery_cell_samples", "battery_unit_samples")}
        assert checked == {"energy_samples": ["inverter_id"], "battery_cell_samples": [],
                           "battery_unit_samples": []}
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
