"""What the database holds and how fast it grows: ``manage.py storage`` and the admin page.

Sizes and rows per table come from SQLite's ``dbstat`` table (one pass over every page; its
leaf cells are the rows), else from page counts and ``COUNT(*)``; on PostgreSQL from
``pg_total_relation_size`` and the planner's row estimate (``COUNT(*)`` for tables never
analysed). Growth is measured over the last day: the rows of each table whose time column
(``ts``, else ``created_at``) falls in it, times the table's bytes per row.

Days until full: tables under a retention window (raw samples: ``SOLARMON_RAW_RETENTION_DAYS``)
grow only until their window is full, then stay level as old rows go; every other table grows
at its rate for good. ``RETENTION_WINDOWS`` says which tables each window bounds; a new tier
with a retention setting adds one line there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, models
from django.db.models import Min
from django.utils import timezone

from aggregation.storage_status import StorageStatus, storage_status

DAY = timedelta(days=1)


def _raw_sample_models() -> Iterable[type[models.Model]]:
    from aggregation.retention import SAMPLE_MODELS

    return SAMPLE_MODELS


def _device_tier_models() -> Iterable[type[models.Model]]:
    from aggregation import tier_models as tm

    return (tm.InverterTier, tm.MeterTier, tm.PackTier, tm.ArrayTier, tm.SystemTier)


def _cell_tier_models() -> Iterable[type[models.Model]]:
    from aggregation import tier_models as tm

    return (tm.CellTier,)


# (setting that holds the window in days, 0 = forever; the models it bounds).
RETENTION_WINDOWS: list[tuple[str, Callable[[], Iterable[type[models.Model]]]]] = [
    ("SOLARMON_RAW_RETENTION_DAYS", _raw_sample_models),
    ("SOLARMON_TIER_RETENTION_DAYS", _device_tier_models),
    ("SOLARMON_CELL_TIER_RETENTION_DAYS", _cell_tier_models),
]
# Settings shown as "retention and tiers": every SOLARMON_* setting whose name has one of these.
RETENTION_SETTING_WORDS = ("RETENTION", "TIER", "_KEEP_", "DISK", "VACUUM")  # not MQTT_KEEPALIVE
TIME_COLUMNS = ("ts", "created_at")
# The apps whose tables grow with time (configuration tables change, they do not grow).
GROWING_APPS = ("telemetry", "aggregation")
# Below this size a table's pages are mostly empty, so its bytes per row count only used bytes.
SMALL_TABLE_BYTES = 256 * 1024


@dataclass(frozen=True)
class TableUsage:
    """One table with its indexes."""

    table: str
    rows: int
    rows_exact: bool
    size_bytes: int | None
    used_bytes: int | None = None  # of size_bytes, what the rows fill (SQLite)
    rows_per_day: float | None = None  # None: the table does not grow with time
    window: str | None = None  # the retention setting bounding the table, None: kept for good
    window_days: float = 0.0  # how many days of rows the window keeps
    window_days_left: float = 0.0  # days until its window is full

    @property
    def bytes_per_row(self) -> float | None:
        """What one more row costs, indexes included."""
        if self.size_bytes is None or not self.rows:
            return None
        small = self.size_bytes < SMALL_TABLE_BYTES and self.used_bytes is not None
        return (self.used_bytes if small else self.size_bytes) / self.rows  # type: ignore[operator]

    @property
    def bytes_per_day(self) -> float | None:
        if self.rows_per_day is None or self.size_bytes is None:
            return None
        return self.rows_per_day * (self.bytes_per_row or 0.0)


@dataclass(frozen=True)
class StorageReport:
    """The database, its tables, the retention settings and the data disk."""

    vendor: str
    database: str
    database_bytes: int
    tables: list[TableUsage]
    retention_settings: list[tuple[str, Any]]
    status: StorageStatus
    measured_hours: float  # growth was measured over this many hours (24, or the data's age)
    notes: list[str] = field(default_factory=list)

    @property
    def growth_bytes_per_day(self) -> float:
        return sum(t.bytes_per_day or 0.0 for t in self.tables)

    @property
    def growth_rows_per_day(self) -> float:
        return sum(t.rows_per_day or 0.0 for t in self.tables)

    def days_until(self, bytes_left: float) -> float | None:
        """Days until the tables have grown by ``bytes_left``; None if they never will."""
        if not self.status.volume.holds_database:
            return None
        forever = sum(t.bytes_per_day or 0.0 for t in self.tables if t.window is None)
        windows = [(t.bytes_per_day or 0.0, t.window_days_left) for t in self.tables if t.window]
        return days_until(bytes_left, forever, windows)

    @property
    def days_until_full(self) -> float | None:
        return self.days_until(self.status.volume.available_bytes)

    @property
    def days_until_guard(self) -> float | None:
        """Days until free space falls to the threshold, where the disk guard starts pruning."""
        return self.days_until(self.status.volume.available_bytes - self.status.threshold_bytes)


def days_until(bytes_left: float, forever_rate: float, windows: list[tuple[float, float]]) -> float | None:
    """When growth uses up ``bytes_left``: ``forever_rate`` bytes a day for good, plus each
    window's rate until its days run out. None if growth stops first."""
    if bytes_left <= 0:
        return 0.0
    t = 0.0
    for end in [*sorted({days for _, days in windows if days > 0}), float("inf")]:
        rate = forever_rate + sum(r for r, days in windows if days > t)
        if rate > 0 and t + bytes_left / rate <= end:
            return t + bytes_left / rate
        if end == float("inf"):
            return None
        bytes_left -= rate * (end - t)
        t = end
    return None


def storage_report(now: datetime | None = None) -> StorageReport:
    """Measure everything (reads every page of an SQLite database once)."""
    now = now or timezone.now()
    notes: list[str] = []
    sizes, database_bytes = _sqlite_sizes(notes) if connection.vendor == "sqlite" else _postgres_sizes()
    status = storage_status(now)
    growth, hours = _growth(now, set(sizes))
    windows = _windows(now, status)
    tables = [TableUsage(table=name, rows=rows, rows_exact=exact, size_bytes=size, used_bytes=used,
                         rows_per_day=growth.get(name), **windows.get(name, {}))
              for name, (size, used, rows, exact) in sizes.items()]
    tables.sort(key=lambda t: (-(t.size_bytes or 0), -t.rows, t.table))
    return StorageReport(vendor=connection.vendor, database=str(connection.settings_dict["NAME"]),
                         database_bytes=database_bytes, tables=tables, status=status, notes=notes,
                         retention_settings=retention_settings(), measured_hours=hours)


def split_tables(tables: list[TableUsage]) -> tuple[list[TableUsage], list[TableUsage]]:
    """Tables that grow with time or hold 1 MB or more, and the rest (configuration, mostly)."""
    shown = [t for t in tables if t.rows_per_day is not None or (t.size_bytes or 0) >= 1024 * 1024]
    return shown, [t for t in tables if t not in shown]


def retention_settings() -> list[tuple[str, Any]]:
    """Every retention, tier and disk guard setting, by name."""
    return sorted((name, getattr(settings, name)) for name in dir(settings)
                  if name.startswith("SOLARMON_") and any(w in name for w in RETENTION_SETTING_WORDS))


# ---- sizes ----------------------------------------------------------------------------------
Sizes = dict[str, tuple[int | None, int | None, int, bool]]  # table -> (bytes, used bytes, rows, exact)


def _sqlite_sizes(notes: list[str]) -> tuple[Sizes, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name, type, coalesce(sql, '') FROM sqlite_schema "
                       "WHERE type IN ('table', 'index')")
        schema = cursor.fetchall()
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute("PRAGMA page_size")
        total = pages * cursor.fetchone()[0]
        try:
            cursor.execute("SELECT name, pagetype, sum(pgsize), sum(pgsize - unused), sum(ncell) FROM dbstat "
                           "GROUP BY name, pagetype")
            stats = cursor.fetchall()
        except DatabaseError:
            notes.append("This SQLite has no dbstat table: sizes per table are not known, rows are counted.")
            tables = [name for name, _, kind, _ in schema if kind == "table"]
            return {name: (None, None, _count(name), True) for name in tables}, total
    owner = {name: table for name, table, _, _ in schema}
    without_rowid = {name for name, _, kind, sql in schema
                     if kind == "table" and "WITHOUT ROWID" in sql.upper()}
    sizes: dict[str, list[int]] = {name: [0, 0, 0] for name, _, kind, _ in schema if kind == "table"}
    for name, pagetype, size, used, cells in stats:
        table = owner.get(name, name)
        entry = sizes.setdefault(table, [0, 0, 0])
        entry[0] += size
        entry[1] += used
        # A table's rows are the cells of its leaf pages; a WITHOUT ROWID table is a b-tree
        # whose inner pages hold rows too. Index pages hold no rows of their own.
        if name == table and (pagetype == "leaf" or (pagetype == "internal" and table in without_rowid)):
            entry[2] += cells
    return {name: (size, used, rows, True) for name, (size, used, rows) in sizes.items()}, total


def _postgres_sizes() -> tuple[Sizes, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname, pg_total_relation_size(c.oid), c.reltuples FROM pg_class c "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE c.relkind = 'r' AND n.nspname = ANY(current_schemas(false))")
        rows = cursor.fetchall()
        cursor.execute("SELECT pg_database_size(current_database())")
        total = cursor.fetchone()[0]
    # reltuples is -1 until a table is first analysed; such tables are young, so count them.
    return {name: (size, None, int(est), False) if est >= 0 else (size, None, _count(name), True)
            for name, size, est in rows}, total


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
        return int(cursor.fetchone()[0])


# ---- growth ---------------------------------------------------------------------------------
def _time_column(model: type[models.Model]) -> str | None:
    names = {f.name for f in model._meta.concrete_fields}
    return next((c for c in TIME_COLUMNS if c in names), None)


def _growth(now: datetime, tables: set[str]) -> tuple[dict[str, float], float]:
    """Rows a day per table over the last day (or since the oldest row, if younger)."""
    timed = [(m, col) for m in apps.get_models() if m._meta.db_table in tables and not m._meta.proxy
             and m._meta.app_label in GROWING_APPS and (col := _time_column(m)) is not None]
    since = now - DAY
    firsts = [m._default_manager.aggregate(first=Min(col))["first"] for m, col in timed]
    first = min((f for f in firsts if f is not None), default=now)
    span = max(now - max(since, first), timedelta(minutes=1))
    days = span / DAY
    rates = {m._meta.db_table: m._default_manager.filter(**{f"{col}__gte": now - span}).count() / days
             for m, col in timed}
    return rates, span.total_seconds() / 3600


def _windows(now: datetime, status: StorageStatus) -> dict[str, dict[str, Any]]:
    """Table -> its retention setting, the days it keeps and the days until they are full."""
    out: dict[str, dict[str, Any]] = {}
    for setting, models_of in RETENTION_WINDOWS:
        keep = float(getattr(settings, setting))
        if keep <= 0:
            continue  # kept forever: grows at its rate for good
        if setting == "SOLARMON_RAW_RETENTION_DAYS" and status.early_keep_days is not None:
            keep = min(keep, status.early_keep_days)  # the disk guard keeps fewer days for now
        for model in models_of():
            col = _time_column(model) or "ts"
            first = model._default_manager.aggregate(first=Min(col))["first"]
            age = (now - first) / DAY if first else 0.0
            out[model._meta.db_table] = {"window": setting, "window_days": keep,
                                         "window_days_left": max(0.0, keep - age)}
    return out
