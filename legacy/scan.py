"""Reading the original's file once before anything is written: what it holds, and whether all of it
can be placed.

Per device and local date (the date in the row's own offset) the device tables give row counts
and first and last timestamps, which place the devices and feed the final report. One aggregate
pass over every table checks each row's timestamp and device columns and finds, per pack, the
highest battery and cell numbers (the catalog needs those units and cells). A row that cannot be
read stops the import here, naming the table and the row.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legacy.source import LegacyError, Shape, explain
from legacy.tables import TS_BAD, TableSpec

DEVICE_TABLES = {"energy_samples": "inverter_id", "array_samples": "array_id", "meter_samples": "meter_id",
                 "battery_bank_samples": "bank_id"}
MAX_UNITS = 64
MAX_CELLS = 64


@dataclass
class DeviceDay:
    """One device's rows on one local date of the file."""

    rows: int
    first: str
    last: str


@dataclass
class TableScan:
    """What one table holds."""

    rows: int = 0
    max_rowid: int = 0
    cleared: dict[str, int] = field(default_factory=dict)


@dataclass
class Scan:
    """What the file holds, by table and by device."""

    tables: dict[str, TableScan] = field(default_factory=dict)
    # table → device id → local date → rows, first and last ts (device tables only)
    days: dict[str, dict[str, dict[str, DeviceDay]]] = field(default_factory=dict)
    # pack id → (highest battery number, highest cell number) seen in unit and cell rows
    units: dict[str, tuple[int, int]] = field(default_factory=dict)
    # inverter id → how its rows store the mode: {"text", "integer"} (the original's Powdrive rows
    # hold text, its Senergy rows an integer)
    mode_types: dict[str, set[str]] = field(default_factory=dict)

    def devices(self, table: str) -> list[str]:
        """Device ids named by ``table``, sorted."""
        return sorted(self.days.get(table, {}))

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables.values())


def scan(conn: sqlite3.Connection, path: Path, shape: Shape, specs: dict[str, TableSpec],
         catalog_packs: set[str]) -> Scan:
    """Read every table once; raise :class:`LegacyError` at the first row that cannot be imported."""
    result = Scan()
    for table, spec in specs.items():
        try:
            if table in DEVICE_TABLES:
                mode = "inverter_mode" if shape.has(table, "inverter_mode") else None
                result.days[table] = _device_days(conn, table, DEVICE_TABLES[table], mode, result)
            packs = set(result.days.get("battery_bank_samples", {})) | catalog_packs
            result.tables[table] = _check(conn, path, spec, packs, result)
        except sqlite3.Error as exc:
            raise explain(path, exc, f"table {table}") from exc
    return result


def _device_days(conn: sqlite3.Connection, table: str, device: str, mode: str | None, result: Scan
                 ) -> dict[str, dict[str, DeviceDay]]:
    days: dict[str, dict[str, DeviceDay]] = defaultdict(dict)
    kinds = (f", max(typeof({mode}) = 'text'), max(typeof({mode}) = 'integer')" if mode else ", 0, 0")
    for dev, day, rows, first, last, text, integer in conn.execute(
            f"SELECT {device}, substr(ts, 1, 10), count(*), min(ts), max(ts){kinds} FROM legacy.{table} "
            "GROUP BY 1, 2"):
        if dev is not None and day is not None:
            days[str(dev)][day] = DeviceDay(rows, first, last)
            seen = result.mode_types.setdefault(str(dev), set()) if mode else set()
            seen.update(name for name, flag in (("text", text), ("integer", integer)) if flag)
    return dict(days)


def _check(conn: sqlite3.Connection, path: Path, spec: TableSpec, packs: set[str], result: Scan) -> TableScan:
    """One pass over the table: counts, the first unreadable row, units and cells per pack."""
    device = f"s.{spec.device}"
    exprs = ["count(*)", "max(s.rowid)", f"min(CASE WHEN {TS_BAD} THEN s.rowid END)",
             f"min(CASE WHEN {device} IS NULL THEN s.rowid END)"]
    names = sorted(packs)
    numbered = spec.name in ("battery_unit_samples", "battery_cell_samples")
    cell = "s.cell" if spec.name == "battery_cell_samples" else "1"
    if numbered:
        # With no pack known yet, every pack a row names is one to find.
        unknown = f"{device} NOT IN ({', '.join(_quote(name) for name in names)})" if names else \
            f"{device} IS NOT NULL"
        exprs += [f"min(CASE WHEN s.power < 1 OR s.power > {MAX_UNITS} OR {cell} < 1 OR {cell} > {MAX_CELLS} "
                  "OR s.power IS NULL OR {cell} IS NULL THEN s.rowid END)".replace("{cell}", cell),
                  f"min(CASE WHEN {unknown} THEN s.rowid END)"]
        for name in names:
            exprs += [f"max(CASE WHEN {device} = {_quote(name)} THEN s.power END)",
                      f"max(CASE WHEN {device} = {_quote(name)} THEN {cell} END)"]
    exprs += [f"sum({condition})" for condition in spec.cleared.values()]
    row = conn.execute(f"SELECT {', '.join(exprs)} FROM legacy.{spec.name} s").fetchone()
    rows, max_rowid, bad_ts, no_device = row[:4]
    where = f"{path}: table {spec.name}"
    if bad_ts is not None:
        value = conn.execute(f"SELECT ts FROM legacy.{spec.name} WHERE rowid = ?", (bad_ts,)).fetchone()[0]
        raise LegacyError(f"{where}, row {bad_ts}: ts {value!r} is not a timestamp the original writes "
                          "('YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM')")
    if no_device is not None:
        raise LegacyError(f"{where}, row {no_device}: {spec.device} is empty, so the sample cannot be placed")
    rest: list[Any] = list(row[4:])
    if numbered:
        bad_number, unknown = rest[:2]
        maxima, rest = rest[2:2 + 2 * len(names)], rest[2 + 2 * len(names):]
        if bad_number is not None:
            raise LegacyError(f"{where}, row {bad_number}: battery number (power) or cell number out of "
                              f"1..{MAX_UNITS}/1..{MAX_CELLS}, so the sample cannot be placed")
        found = {name: (maxima[2 * i], maxima[2 * i + 1]) for i, name in enumerate(names)
                 if maxima[2 * i] is not None}
        if unknown is not None:
            found.update(_unknown_packs(conn, spec, names))
        for name, (power, highest) in found.items():
            units, cells = result.units.get(name, (0, 0))
            result.units[name] = (max(units, int(power)), max(cells, int(highest)))
    cleared = {name: int(count or 0) for name, count in zip(spec.cleared, rest, strict=True)}
    return TableScan(int(rows), int(max_rowid or 0), cleared)


def _unknown_packs(conn: sqlite3.Connection, spec: TableSpec, known: list[str]) -> dict[str, tuple[int, int]]:
    """Packs only unit or cell rows name (no pack rows, not in any catalog), with their numbers."""
    cell = "cell" if spec.name == "battery_cell_samples" else "1"
    where = f"bank_id NOT IN ({', '.join('?' * len(known))})" if known else "bank_id IS NOT NULL"
    return {str(dev): (int(power), int(cells)) for dev, power, cells in conn.execute(
        f"SELECT bank_id, max(power), max({cell}) FROM legacy.{spec.name} WHERE {where} GROUP BY bank_id",
        known)}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
