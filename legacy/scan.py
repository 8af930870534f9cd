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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
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
    """Read every table once; raise :class:`LegacyError` at the first row that cannot be imported.

    The reading is shared by two threads (``conn`` and a second connection to the file: SQLite
    reads with the interpreter released, so on two cores the scan takes about half the time):
    each table's check in two halves of its rowids, the device tables' days beside them. The
    unit and cell tables are checked once the pack rows have named their packs."""
    result = Scan()
    with _Readers(conn, path) as readers:
        days = {table: readers.submit(table, _day_rows, table, DEVICE_TABLES[table],
                                      "inverter_mode" if shape.has(table, "inverter_mode") else None)
                for table in specs if table in DEVICE_TABLES}
        checks: dict[str, _Check] = {}
        for table, spec in specs.items():
            if table in DEVICE_TABLES:
                checks[table] = _Check(spec, [], readers)
        for table in specs:
            if table in DEVICE_TABLES:
                result.days[table] = _device_days(readers.result(table, days[table]), result,
                                                  shape.has(table, "inverter_mode"))
        packs = set(result.days.get("battery_bank_samples", {})) | catalog_packs
        for table, spec in specs.items():
            if table not in DEVICE_TABLES:
                checks[table] = _Check(spec, sorted(packs), readers)
        for table in specs:
            result.tables[table] = checks[table].judge(conn, path, result)
    return result


class _Readers:
    """Two threads reading the original's file, each with a connection of its own."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.path = path
        self._own = sqlite3.connect(":memory:", check_same_thread=False)
        self._own.execute("ATTACH DATABASE ? AS legacy", (f"{path.resolve().as_uri()}?mode=ro",))
        self._free: Queue[sqlite3.Connection] = Queue()
        self._free.put(conn)
        self._free.put(self._own)
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="legacy-scan")

    def __enter__(self) -> _Readers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._own.close()

    def submit(self, table: str, work: Callable[..., Any], *args: Any) -> Future[Any]:
        """``work(connection, *args)`` on whichever connection is free."""
        def run() -> Any:
            reader = self._free.get()
            try:
                return work(reader, *args)
            finally:
                self._free.put(reader)
        return self._pool.submit(run)

    def result(self, table: str, future: Future[Any]) -> Any:
        try:
            return future.result()
        except sqlite3.Error as exc:
            raise explain(self.path, exc, f"table {table}") from exc


def _day_rows(conn: sqlite3.Connection, table: str, device: str, mode: str | None) -> list[tuple[Any, ...]]:
    kinds = (f", max(typeof({mode}) = 'text'), max(typeof({mode}) = 'integer')" if mode else ", 0, 0")
    return conn.execute(f"SELECT {device}, substr(ts, 1, 10), count(*), min(ts), max(ts){kinds} "
                        f"FROM legacy.{table} GROUP BY 1, 2").fetchall()


def _device_days(rows: list[tuple[Any, ...]], result: Scan, mode: bool) -> dict[str, dict[str, DeviceDay]]:
    days: dict[str, dict[str, DeviceDay]] = defaultdict(dict)
    for dev, day, count, first, last, text, integer in rows:
        if dev is not None and day is not None:
            days[str(dev)][day] = DeviceDay(count, first, last)
            seen = result.mode_types.setdefault(str(dev), set()) if mode else set()
            seen.update(name for name, flag in (("text", text), ("integer", integer)) if flag)
    return dict(days)


# How the halves' aggregates combine.
_COMBINE: dict[str, Callable[[Any, Any], Any]] = {
    "count": lambda a, b: (a or 0) + (b or 0), "sum": lambda a, b: None if a is None and b is None else
    (a or 0) + (b or 0), "min": lambda a, b: b if a is None else a if b is None else min(a, b),
    "max": lambda a, b: b if a is None else a if b is None else max(a, b)}


class _Check:
    """One pass over a table (in two halves of its rowids, read side by side): counts, the first
    unreadable row, units and cells per pack."""

    def __init__(self, spec: TableSpec, packs: list[str], readers: _Readers) -> None:
        self.spec, self.names, self.readers = spec, packs, readers
        device = f"s.{spec.device}"
        exprs = ["count(*)", "max(s.rowid)", f"min(CASE WHEN {TS_BAD} THEN s.rowid END)",
                 f"min(CASE WHEN {device} IS NULL THEN s.rowid END)"]
        self.numbered = spec.name in ("battery_unit_samples", "battery_cell_samples")
        cell = "s.cell" if spec.name == "battery_cell_samples" else "1"
        if self.numbered:
            # With no pack known yet, every pack a row names is one to find.
            unknown = f"{device} NOT IN ({', '.join(_quote(name) for name in packs)})" if packs else \
                f"{device} IS NOT NULL"
            exprs += [f"min(CASE WHEN s.power < 1 OR s.power > {MAX_UNITS} OR {cell} < 1 "
                      f"OR {cell} > {MAX_CELLS} OR s.power IS NULL OR {cell} IS NULL THEN s.rowid END)",
                      f"min(CASE WHEN {unknown} THEN s.rowid END)"]
            for name in packs:
                exprs += [f"max(CASE WHEN {device} = {_quote(name)} THEN s.power END)",
                          f"max(CASE WHEN {device} = {_quote(name)} THEN {cell} END)"]
        exprs += [f"sum({condition})" for condition in spec.cleared.values()]
        self.combine = [_COMBINE[expr.split("(", 1)[0]] for expr in exprs]
        sql = f"SELECT {', '.join(exprs)} FROM legacy.{spec.name} s WHERE s.rowid > ? AND s.rowid <= ?"
        self.halves = [readers.submit(spec.name, _halves, spec.name, sql, half) for half in (0, 1)]

    def judge(self, conn: sqlite3.Connection, path: Path, result: Scan) -> TableScan:
        """The table's figures; :class:`LegacyError` for its first row that cannot be imported."""
        first, second = (self.readers.result(self.spec.name, half) for half in self.halves)
        row = [combine(a, b) for combine, a, b in zip(self.combine, first, second, strict=True)]
        try:
            return _judge(conn, path, self.spec, self.names, self.numbered, row, result)
        except sqlite3.Error as exc:
            raise explain(path, exc, f"table {self.spec.name}") from exc


def _halves(conn: sqlite3.Connection, table: str, sql: str, half: int) -> tuple[Any, ...]:
    """The aggregates of one half of the table's rowids."""
    (top,) = conn.execute(f"SELECT max(rowid) FROM legacy.{table}").fetchone()
    middle = (top or 0) // 2
    low, high = (-(2 ** 63), middle) if half == 0 else (middle, 2 ** 63 - 1)
    return tuple(conn.execute(sql, (low, high)).fetchone())


def _judge(conn: sqlite3.Connection, path: Path, spec: TableSpec, names: list[str], numbered: bool,
           row: list[Any], result: Scan) -> TableScan:
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
