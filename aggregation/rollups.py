"""Rollups of one system's local day: slot aggregates from the raw samples, the 5-minute tiers,
then the hourly and daily rows of every level, upserted.

``rollup_day`` recomputes a whole day from its raw samples (``manage.py rollup``, backfills,
retention before it prunes an old day): the tiers of the day (three queries for inverter, meter
and pack samples, three more for arrays, the system and cells), then every level's rows. Writing
them again gives the same rows. Rows of the day that the new run did not produce (a device whose
samples were deleted) are removed, so a rerun always leaves exactly what the samples say.

``rollup_days`` gives the same rows for many days (an import of history), each day computed
before its short write transaction (so polling on SQLite never waits for the computation).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from zoneinfo import ZoneInfo

from django.db import OperationalError, connection, models, transaction
from django.utils import timezone

from aggregation import figures, tiers
from aggregation import models as m
from aggregation import tier_models as tm
from aggregation.buckets import SLOT_S, Day, local_day, slot_start
from aggregation.choices import Source
from aggregation.daydata import DayData, SlotAggs, log_glitches, raw_slots
from aggregation.levels import build_rows
from aggregation.signals import rollup_written
from aggregation.topology import Topology
from catalog import models as catalog
from solarmon.sqlite_bounds import interrupted_after
from telemetry.upsert import upsert

log = logging.getLogger(__name__)

Fields = figures.Fields


@transaction.atomic
def rollup_day(system_id: str, day: date) -> Counter[str]:
    """Recompute the tiers and rollup rows of ``system_id`` for its local date ``day`` from raw samples.

    Returns the rows written per table.
    """
    system = catalog.System.objects.get(pk=system_id)
    topo = Topology.load(system)
    bounds = local_day(day, ZoneInfo(system.timezone))
    written, _ = tiers.replace_stat_tiers(topo, bounds.start_utc, bounds.end_utc)
    slots = raw_slots(topo, bounds.start_utc, bounds.end_utc)
    glitches = log_glitches(slots)
    written += write_energy_tiers(topo, slots, bounds.start_utc, bounds.end_utc)
    written += write_rows(system, day, build_rows(topo, DayData(bounds, slots)))
    transaction.on_commit(lambda: rollup_written.send(sender=DayData, system_id=system_id, day=day,
                                                      glitches=glitches))
    return written


def write_energy_tiers(topo: Topology, slots: dict[str, SlotAggs], start: datetime, end: datetime, *,
                       fresh: bool = False) -> Counter[str]:
    """Replace the inverter, meter and pack tiers of [start, end) by ``slots`` (``fresh``: none there yet)."""
    devices = {"inv": [i.pk for i in topo.inverters], "meter": [mt.pk for mt in topo.meters],
               "pack": [p.pk for p in topo.packs]}
    written: Counter[str] = Counter()
    for kind, spec in tiers.ENERGY_TIERS.items():
        written[spec.table] += tiers.replace_energy_tiers(spec, topo.system.pk, devices[kind], start, end,
                                                          slots.get(kind, {}), fresh=fresh)
    return written


def upsert_rows(rows: dict[type[models.Model], list[Fields]], now: datetime | None = None) -> Counter[str]:
    """Insert or update rollup rows on their keys; rows written per table."""
    now = now or timezone.now()
    written: Counter[str] = Counter()
    for model, field_rows in rows.items():
        if field_rows:
            # created_at keeps its database default: the time the row first appeared.
            upsert(model, field_rows, skip=("created_at",), overrides={"updated_at": now})
            written[model._meta.db_table] += len(field_rows)
    return written


@transaction.atomic
def write_rows(system: catalog.System, day: date, rows: dict[type[models.Model], list[Fields]]
               ) -> Counter[str]:
    """Upsert the day's rows and delete the day's rows this run did not write."""
    now = timezone.now()
    written = upsert_rows(rows, now)
    for model in rows:
        date_field = "day" if model is m.MeterDaily else "date"
        # Hours imported from the original system (no samples left for them) stay.
        model._default_manager.filter(system=system, updated_at__lt=now, **{date_field: day}).exclude(
            source=Source.IMPORTED).delete()
        written[model._meta.db_table] += 0
    return written


# ---- many days: computed outside the write lock, written in short transactions -----------
def rollup_days(system_id: str, days: Iterable[date], *,
                done: Callable[[date, float, int], None] | None = None,
                writing: Callable[[], AbstractContextManager[object]] | None = None,
                bound_s: float | None = None) -> Counter[str]:
    """Recompute the tiers, cells' days and rollup rows of many local days of ``system_id`` (an
    import of history): the same rows as :func:`rollup_day` for each day, with the catalog
    loaded once.

    Each day is first computed without holding the database's write lock: the array, system and
    cell tiers and the cells' days are grouped from the samples into temporary tables of this
    connection, the inverter, meter and pack slots read into memory and the day's rows built.
    Only then is the day written, in three short transactions (the staged tiers, the energy
    tiers, the cells' days with the rollup rows), so a writer of new samples (polling, on
    SQLite) waits for one of those copies only, never for the computation. With ``bound_s``
    (SQLite), a tier write that holds the write lock longer is interrupted, rolled back and
    written again in quarters of its time range (a range of one slot is written however long it
    takes). A day is complete once its last transaction is committed; one interrupted between
    them (a kill) is written again in full by the next run, which replaces its tiers.
    ``done(day, seconds, interrupted)`` is called after each day with how long its longest write
    transaction took and how many were interrupted at the bound. ``writing()``, when given, is
    the context each write transaction runs in (an import takes turns at SQLite's write lock
    with its own other writer through it). ``days`` is consumed one day at a time, so it may
    wait for a day's samples (an import rolling up days behind its copy). Returns the rows
    written per table.

    A sample written into a day between its computation and its write is in a day the ingest
    path marks dirty (late samples), which the periodic rollup rolls up again.
    """
    system = catalog.System.objects.get(pk=system_id)
    topo = Topology.load(system)
    packs = [p.pk for p in topo.packs]
    written: Counter[str] = Counter()
    for day in days:
        bounds = local_day(day, ZoneInfo(system.timezone))
        start, end = bounds.start_utc, bounds.end_utc
        staged = stage_stat_tiers(topo, start, end)
        cells = _stage_cell_day(packs, bounds)
        slots = raw_slots(topo, start, end, cell_band=staged_cell_band(topo, start, end))
        glitches = log_glitches(slots)
        rows = build_rows(topo, DayData(bounds, slots))
        writer = _BoundedWrites(writing, bound_s)
        written += writer.ranged(partial(write_staged, staged), start, end)
        written += writer.ranged(partial(write_energy_tiers, topo, slots), start, end)

        def last(day: date = day, bounds: Day = bounds, rows: RollupRows = rows, cells: int = cells,
                 glitches: object = glitches) -> Counter[str]:
            out: Counter[str] = Counter()
            if cells:
                out[tm.CellDaily._meta.db_table] += _write_cell_day(packs, bounds)
            out += write_rows(system, day, rows)
            transaction.on_commit(partial(rollup_written.send, sender=DayData, system_id=system_id,
                                          day=day, glitches=glitches))
            return out

        written += writer.whole(last)
        if done is not None:
            done(day, writer.longest_s, writer.interrupted)
    return written


RollupRows = dict[type[models.Model], list[Fields]]


class _BoundedWrites:
    """A day's write transactions, each in ``writing()`` and, with ``bound_s`` on SQLite, interrupted
    once it has held the write lock that long (see :func:`rollup_days`)."""

    def __init__(self, writing: Callable[[], AbstractContextManager[object]] | None,
                 bound_s: float | None) -> None:
        self.writing = writing
        self.bound_s = bound_s if connection.vendor == "sqlite" else None
        self.longest_s = 0.0
        self.interrupted = 0

    def ranged(self, write: Callable[[datetime, datetime], Counter[str]], start: datetime,
               end: datetime) -> Counter[str]:
        """``write(start, end)`` in one transaction; where that would hold the lock past the bound,
        in quarters of the range (whole slots), each its own transaction."""
        out = self._once(partial(write, start, end), bounded=(end - start).total_seconds() > SLOT_S)
        if out is not None:
            return out
        self.interrupted += 1
        total: Counter[str] = Counter()
        first, last = int(start.timestamp()) // SLOT_S, -(-int(end.timestamp()) // SLOT_S)
        step = max(1, (last - first) // 4)
        for slot in range(first, last, step):
            piece_start = max(start, slot_start(slot))
            piece_end = min(end, slot_start(slot + step))
            if piece_start < piece_end:
                total += self.ranged(write, piece_start, piece_end)
        return total

    def whole(self, write: Callable[[], Counter[str]], tries: int = 3) -> Counter[str]:
        """``write()`` in one transaction; interrupted at the bound, tried again after the pause the
        turns give a waiting writer, and the last try is written however long it takes."""
        for attempt in range(tries):
            out = self._once(write, bounded=attempt < tries - 1)
            if out is not None:
                return out
            self.interrupted += 1
        raise AssertionError("unreachable: the last try is not bounded")

    def _once(self, write: Callable[[], Counter[str]], *, bounded: bool) -> Counter[str] | None:
        """One transaction; None when it was interrupted at the bound (and rolled back)."""
        limit = self.bound_s if bounded else None
        with self.writing() if self.writing is not None else nullcontext():
            began = time.monotonic()
            try:
                with transaction.atomic():
                    began = time.monotonic()  # the write lock is held from here (BEGIN IMMEDIATE)
                    with interrupted_after(connection.connection, limit):
                        out = write()
            except OperationalError as exc:
                if limit is None or "interrupt" not in str(exc):
                    raise
                return None
            finally:
                self.longest_s = max(self.longest_s, time.monotonic() - began)
        return out


_CELL_DAY_STAGE = "rollup_stage_battery_cell_daily"


def _stage_cell_day(packs: list[str], day: Day) -> int:
    """The packs' cells' days of ``day`` from the staged cell tiers (:func:`stage_stat_tiers` of
    the same day), into a temporary table; returns the rows staged. None staged when the day has
    no cell tier rows: as with :func:`aggregation.tiers.replace_cell_day`, its stored days stay."""
    if not packs:
        return 0
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_CELL_DAY_STAGE} AS "
                       f"SELECT * FROM {tm.CellDaily._meta.db_table} WHERE 1 = 0")
        cursor.execute(f"DELETE FROM {_CELL_DAY_STAGE}")
        cursor.execute(tiers._cell_daily_sql(len(packs), source=f"rollup_stage_{tm.CellTier._meta.db_table}",
                                             target=_CELL_DAY_STAGE),
                       [connection.ops.adapt_datefield_value(day.date), *packs, adapt(day.start_utc),
                        adapt(day.end_utc)])
        return max(cursor.rowcount, 0)


def _write_cell_day(packs: list[str], day: Day) -> int:
    """Replace the packs' cells' days of ``day`` by the staged ones (:func:`_stage_cell_day`)."""
    marks = ", ".join(["%s"] * len(packs))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {tm.CellDaily._meta.db_table} WHERE pack_id IN ({marks}) AND date = %s",
                       [*packs, connection.ops.adapt_datefield_value(day.date)])
        cursor.execute(f"INSERT INTO {tm.CellDaily._meta.db_table} SELECT * FROM {_CELL_DAY_STAGE}")
        return max(cursor.rowcount, 0)


@dataclass(frozen=True)
class Staged:
    """The tier rows of one stat tier for some devices, grouped into a temporary table."""

    spec: tiers.StatTierSpec
    column: str  # the samples' column the devices were chosen by (the tier has it too)
    ids: list[str]
    stage: str
    columns: list[str]


def _slot_number_sql() -> str:
    """The number of the 5-minute slot of ``ts`` (grouping on a number is cheaper than on a text)."""
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR(date_part('epoch', ts) / {SLOT_S}) AS BIGINT)"
    return f"unixepoch(ts) / {SLOT_S}"


def _slot_ts_sql(number: str) -> str:
    """The start of slot ``number`` as a ``ts`` (as :func:`aggregation.tiers.slot_start_sql`)."""
    if connection.vendor == "postgresql":
        return f"to_timestamp({number} * {SLOT_S})"
    return f"datetime({number} * {SLOT_S}, 'unixepoch')"


def stage_stat_tiers(topo: Topology, start: datetime, end: datetime) -> list[Staged]:
    """The array, system and cell tier rows of [start, end), grouped into temporary tables
    (see :func:`aggregation.tiers.replace_stat_tier`: the same rows)."""
    parts = [(tiers.STAT_TIERS[kind], column, ids) for kind, column, ids in (
        ("array", "array_id", [a.pk for a in topo.arrays]), ("system", "system_id", [topo.system.pk]),
        ("cell", "pack_id", [p.pk for p in topo.packs])) if ids]
    adapt = connection.ops.adapt_datetimefield_value
    out = []
    for spec, column, ids in parts:
        if spec.model is tm.CellTier:
            targets, exprs = list(tiers.CELL_EXTREMES), list(tiers.CELL_EXTREMES.values())
        else:
            targets = [f"{prefix}_{a}" for prefix in spec.stats.values() for a in ("avg", "min", "max")]
            exprs = [f"{a}({source})" for source in spec.stats for a in ("AVG", "MIN", "MAX")]
        cols = ["ts", spec.device, *spec.keep, "sample_count", *targets]
        keys = [spec.device, *spec.keep]
        stage = f"rollup_stage_{spec.table}"
        values = ", ".join(f"v{n}" for n in range(len(exprs)))
        grouped = ", ".join(f"{e} AS v{n}" for n, e in enumerate(exprs))
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {', '.join(cols)} "
                           f"FROM {spec.table} WHERE 1 = 0")
            cursor.execute(f"DELETE FROM {stage}")
            cursor.execute(
                f"INSERT INTO {stage} ({', '.join(cols)}) "
                f"SELECT {_slot_ts_sql('s')}, {', '.join(keys)}, n, {values} FROM ("
                f"SELECT {_slot_number_sql()} AS s, {', '.join(keys)}, COUNT(*) AS n, {grouped} "
                f"FROM {spec.source_table} WHERE {column} IN ({', '.join(['%s'] * len(ids))}) "
                f"AND ts >= %s AND ts < %s GROUP BY s, {', '.join(keys)}) g",
                [*ids, adapt(start), adapt(end)])
        out.append(Staged(spec, column, ids, stage, cols))
    return out


def staged_cell_band(topo: Topology, start: datetime, end: datetime) -> dict[tuple[str, int], Fields]:
    """Per (pack, slot) the band of its cells from the staged cell tiers of [start, end)."""
    return tiers.cell_spread([p.pk for p in topo.packs], start, end,
                             source=f"rollup_stage_{tm.CellTier._meta.db_table}")


def write_staged(staged: list[Staged], start: datetime, end: datetime) -> Counter[str]:
    """Replace the tier rows of [start, end) of the staged devices by the staged rows of that range."""
    adapt = connection.ops.adapt_datetimefield_value
    written: Counter[str] = Counter()
    with connection.cursor() as cursor:
        for part in staged:
            marks = ", ".join(["%s"] * len(part.ids))
            cursor.execute(f"DELETE FROM {part.spec.table} WHERE {part.column} IN ({marks}) "
                           "AND ts >= %s AND ts < %s", [*part.ids, adapt(start), adapt(end)])
            columns = ", ".join(part.columns)
            cursor.execute(f"INSERT INTO {part.spec.table} ({columns}) SELECT {columns} FROM {part.stage} "
                           "WHERE ts >= %s AND ts < %s", [adapt(start), adapt(end)])
            written[part.spec.table] += max(cursor.rowcount, 0)
    return written
