"""Databases in the original system's own schema, for tests and the import benchmark.

``example_legacy.sqlite`` (in ``data/``) was written by the original's own code; its schema (every
table and index, as the original created and altered them) and its catalog rows are the template.
:func:`generate` fills a copy of that schema with days of samples at chosen intervals, written
with the original's conventions: local timestamps with the zone's offset and microseconds, the
Powdrive battery current + = discharging and its temperature + 100, the mode as text, a NULL
PV sum at night in ``array_samples``, 1-based battery and cell numbers. :func:`pre_migration`
turns a file into the shape of the original before its hierarchy migration.
"""

from __future__ import annotations

import math
import random
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "example_legacy.sqlite"
EXAMPLE_TRUTH = DATA / "example_legacy.json"
EXAMPLE_CONFIG = DATA.parent.parent / "yaml" / "original" / "example_legacy.config.yaml"
ZONE = timezone(timedelta(hours=5))  # Asia/Karachi, as the original writes it
CATALOG_TABLES = ("systems", "arrays", "inverters", "battery_arrays", "battery_packs",
                  "battery_pack_adapters", "adapters", "adapter_base", "meters", "battery_array_attachments",
                  "configuration", "device_discovery")
# Tables and columns the original's hierarchy migration added (absent before it).
HEAD_TABLES = ("systems", "adapter_base", "adapters", "inverters", "battery_arrays", "battery_pack_adapters",
               "batteries", "battery_cells", "battery_array_attachments", "meters", "array_hourly_energy",
               "system_hourly_energy", "battery_bank_hourly", "array_daily_summary", "system_daily_summary",
               "battery_bank_daily")
HEAD_COLUMNS = {
    "energy_samples": ("system_id",), "array_samples": ("system_id",), "meter_samples": ("system_id",),
    "battery_bank_samples": ("battery_array_id", "system_id"),
    "battery_unit_samples": ("pack_id", "battery_id", "battery_array_id", "system_id"),
    "battery_cell_samples": ("battery_id", "pack_id", "battery_array_id", "system_id"),
    "hourly_energy": ("system_id", "array_id"), "daily_summary": ("system_id", "array_id"),
    "meter_daily": ("system_id",), "meter_hourly_energy": ("system_id",), "arrays": ("system_id",),
    "battery_packs": ("battery_array_id", "system_id"),
}


@dataclass(frozen=True)
class Plan:
    """What :func:`generate` writes: days from ``first_day`` and each device's poll interval."""

    days: int
    first_day: date = date(2025, 1, 1)
    inverter_step_s: float = 10.0
    pack_step_s: float = 30.0
    meter_step_s: float | None = None  # None: no meter rows
    batteries: int = 2
    cells: int = 15
    array_rows: bool = True


def _schema(conn: sqlite3.Connection) -> list[str]:
    with sqlite3.connect(EXAMPLE) as example:
        return [sql for (sql,) in example.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY type = 'index', rowid")]


def generate(path: Path, plan: Plan) -> dict[str, int]:
    """Write a new database at ``path`` in the original's schema; rows written per table."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    for sql in _schema(conn):
        conn.execute(sql)
    conn.execute("ATTACH DATABASE ? AS example", (str(EXAMPLE),))
    for table in CATALOG_TABLES:
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM example.{table}")
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE example")
    counts = _samples(conn, plan)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    return counts


def _stamp(moment: datetime) -> str:
    """The original's timestamp text: local time, its offset, microseconds unless zero (F1)."""
    return str(moment.astimezone(ZONE))


def _ticks(plan: Plan, step: float, seed: int) -> Iterator[tuple[datetime, float]]:
    """Poll times with the original's jitter, and the hour of day (local) of each."""
    rng = random.Random(seed)
    start = datetime(plan.first_day.year, plan.first_day.month, plan.first_day.day, tzinfo=ZONE)
    total = plan.days * 86400
    t = 0.0
    while t < total:
        moment = start + timedelta(seconds=t + rng.uniform(0.0, 0.3))
        yield moment, (t % 86400) / 3600
        t += step


def _plant(hour: float) -> tuple[int, int, int]:
    """PV, load and battery power (W, + = charging) of a clear day: the grid is the balance."""
    pv = max(0.0, math.sin(math.pi * (hour - 6) / 12)) * 6000 if 6 <= hour <= 18 else 0.0
    load = 600 + 300 * math.sin(math.pi * hour / 12) ** 2
    battery = max(-2000.0, min(2000.0, pv - load))
    return round(pv), round(load), round(battery)


def _samples(conn: sqlite3.Connection, plan: Plan) -> dict[str, int]:
    counts = {"energy_samples": 0, "array_samples": 0, "battery_bank_samples": 0, "battery_unit_samples": 0,
              "battery_cell_samples": 0, "meter_samples": 0}
    conn.execute("BEGIN")
    energy, array = [], []
    for moment, hour in _ticks(plan, plan.inverter_step_s, 1):
        pv, load, batt = _plant(hour)
        grid = load + batt - pv
        volts = 51.2 + batt / 4000
        stamp = _stamp(moment)
        # Powdrive: raw current register (+ = discharging), temperature + 100, mode as text.
        current = round(-batt / volts, 2)
        energy.append((stamp, "powdrive1", pv, load, grid, round(volts, 2), current, 60.0, 60.0,
                       round(volts, 2), current, "Normal", 140.5, "array1", "system"))
        if plan.array_rows:
            array.append((stamp, "array1", pv or None, load or None, grid or None, batt or None, 60.0,
                          round(volts, 2), round(-current, 1), "system"))
        if len(energy) >= 50_000:
            counts["energy_samples"] += _flush_energy(conn, energy, array)
            counts["array_samples"] += len(array)
            energy, array = [], []
    counts["energy_samples"] += _flush_energy(conn, energy, array)
    counts["array_samples"] += len(array)
    conn.execute("COMMIT")
    counts.update(_pack_rows(conn, plan))
    if plan.meter_step_s:
        counts["meter_samples"] = _meter_rows(conn, plan)
    return counts


def _flush_energy(conn: sqlite3.Connection, energy: list[Any], array: list[Any]) -> int:
    conn.executemany(
        "INSERT INTO energy_samples (ts, inverter_id, pv_power_w, load_power_w, grid_power_w, "
        "batt_voltage_v, batt_current_a, soc, battery_soc, battery_voltage_v, battery_current_a, "
        "inverter_mode, inverter_temp_c, array_id, system_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", energy)
    conn.executemany(
        "INSERT OR REPLACE INTO array_samples (ts, array_id, pv_power_w, load_power_w, grid_power_w, "
        "batt_power_w, batt_soc_pct, batt_voltage_v, batt_current_a, system_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", array)
    return len(energy)


def _pack_rows(conn: sqlite3.Connection, plan: Plan) -> dict[str, int]:
    """Pack, unit and cell rows (Pytes: + = charging); the cells are written by SQL from the units."""
    conn.execute("BEGIN")
    banks, units = [], []
    for moment, hour in _ticks(plan, plan.pack_step_s, 2):
        _, _, batt = _plant(hour)
        volts = round(51.2 + batt / 4000, 2)
        current = round(batt / volts, 1)
        stamp = _stamp(moment)
        banks.append((stamp, "battery1", volts, current, 21.5, 60.0, plan.batteries, plan.cells,
                      "battery_array1", "system"))
        for unit in range(1, plan.batteries + 1):
            units.append((stamp, "battery1", unit, volts, round(current / plan.batteries, 2), 21.5, 60.0,
                          "Charge" if batt > 0 else "Dischg" if batt < 0 else "Idle", "Normal", "Normal",
                          "Normal", "Normal", "Normal", "Normal"))
    conn.executemany(
        "INSERT INTO battery_bank_samples (ts, bank_id, voltage, current, temperature, soc, batteries_count, "
        "cells_per_battery, battery_array_id, system_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", banks)
    conn.executemany(
        "INSERT INTO battery_unit_samples (ts, bank_id, power, voltage, current, temperature, soc, basic_st, "
        "volt_st, current_st, temp_st, soh_st, coul_st, heater_st) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", units)
    conn.execute("CREATE TEMP TABLE cell_numbers (n INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO cell_numbers VALUES (?)", [(n,) for n in range(1, plan.cells + 1)])
    cells = conn.execute(
        "INSERT INTO battery_cell_samples (ts, bank_id, power, cell, voltage, temperature, soc, volt_st, "
        "temp_st) SELECT u.ts, u.bank_id, u.power, c.n, "
        "round(u.voltage / 16 + ((u.rowid * 7 + c.n * 13) % 40) / 1000.0, 3), 21.0 + (c.n % 3) * 0.5, "
        "u.soc, 'Normal', 'Normal' "
        "FROM battery_unit_samples u CROSS JOIN temp.cell_numbers c ORDER BY u.rowid, c.n").rowcount
    conn.execute("COMMIT")
    return {"battery_bank_samples": len(banks), "battery_unit_samples": len(units),
            "battery_cell_samples": cells}


def _meter_rows(conn: sqlite3.Connection, plan: Plan) -> int:
    """The meter: grid power and the lifetime import counter in kWh (1/800 kWh steps)."""
    assert plan.meter_step_s is not None
    rows, lifetime, last = [], 8000.0, None
    for moment, hour in _ticks(plan, plan.meter_step_s, 3):
        pv, load, batt = _plant(hour)
        grid = load + batt - pv
        if last is not None and grid > 0:
            lifetime += grid * (moment - last).total_seconds() / 3.6e6
        last = moment
        counter = math.floor(lifetime * 800) / 800
        rows.append((_stamp(moment), "grid_meter_1", "home", grid, 230.0, abs(grid) / 230, 50.0,
                     round(counter * 1000), 0, counter, 0.99, "system"))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO meter_samples (ts, meter_id, array_id, grid_power_w, grid_voltage_v, grid_current_a, "
        "grid_frequency_hz, grid_import_wh, grid_export_wh, energy_kwh, power_factor, system_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    return len(rows)


def pre_migration(source: Path, target: Path) -> None:
    """A copy of ``source`` in the shape of the original before its hierarchy migration: no
    ``system_id`` or other hierarchy columns, no catalog tables, empty ``arrays``/``battery_packs``."""
    shutil.copyfile(source, target)
    conn = sqlite3.connect(target, isolation_level=None)
    for table in HEAD_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for table, columns in HEAD_COLUMNS.items():
        for column in columns:
            indexes = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                   "AND sql LIKE ?", (table, f"%{column}%")).fetchall()
            for (name,) in indexes:
                conn.execute(f"DROP INDEX {name}")
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute("DELETE FROM arrays")
    conn.execute("DELETE FROM battery_packs")
    conn.execute("VACUUM")
    conn.close()
