"""``import_legacy``: moving an installation of the original system, catalog first, then its history.

1. The file is opened read-only and its shape told by its columns (:mod:`legacy.source`).
2. It is read once (:mod:`legacy.scan`); a row that cannot be imported stops everything here.
3. In one transaction: the catalog (the file's catalog tables, else ``--config``, else nothing)
   is imported like a config file, unless solarmon already has one, and every device the
   samples name is placed (:mod:`legacy.placement`).
4. The samples are copied in short batches that record their progress (:mod:`legacy.writer`);
   an interrupted import resumes at the first batch that was not committed.
5. Discovery rows, the hours of pruned days, the recorded poll intervals (before the copy, which
   the rollups follow); solarmon's rollups of every imported day, in order, also resumable: rolled
   up beside the copy as soon as the copy has passed a day (:mod:`legacy.follow`), the rest after it.

``dry_run`` does 1-3 in a transaction that is rolled back and reports what would be written.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from aggregation.buckets import local_date
from catalog import constants
from catalog import models as cm
from catalog.yamlconfig import import_desired, read_config
from catalog.yamlconfig.parse import parse_config, parse_data
from catalog.yamlconfig.problems import Problems
from legacy import cadence, hourly, report, scan, tables
from legacy.catalog_doc import catalog_document
from legacy.discovery_rows import carry_over
from legacy.follow import NEVER, Follower, day_before, parse_ts
from legacy.models import LegacyImport, LegacyTableProgress
from legacy.placement import Placement, Placer, vendor_from_rows
from legacy.progress import ProgressBar, Stream
from legacy.rollups import recompute_days
from legacy.source import LegacyError, Shape, detect_shape, open_source
from legacy.writer import LockBound, Span, Writer, open_writer


class Timer:
    """Seconds spent per phase, for the report (and the benchmark): wall-clock time, and the
    process's CPU time (SQLite runs in it), which a busy machine inflates far less."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began, cpu = time.monotonic(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - began
            self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + time.process_time() - cpu


def import_legacy(path: Path, *, dry_run: bool = False, system_id: str | None = None,
                  config: Path | None = None, progress: Stream | None = None) -> report.LegacyReport:
    """Import the original's database at ``path``. Raises :class:`LegacyError` (nothing written) for
    input that cannot be imported, and ``ImportFailed`` for a ``--config`` file with errors."""
    timer = Timer()
    with timer.phase("check"):
        probe = open_source(path)
        try:
            shape = detect_shape(probe, path)
        finally:
            probe.close()
        writer = open_writer(path)
    try:
        return _run(writer, path, shape, timer, dry_run=dry_run, system_id=system_id, config=config,
                    progress=progress)
    finally:
        writer.close()


def _run(writer: Writer, path: Path, shape: Shape, timer: Timer, *, dry_run: bool, system_id: str | None,
         config: Path | None, progress: Stream | None) -> report.LegacyReport:
    conn = writer.conn
    specs = tables.specs(shape)
    result = report.LegacyReport(str(path), shape.name, dry_run, seconds=timer.seconds,
                                 cpu_seconds=timer.cpu_seconds)
    with timer.phase("check"):
        document, source_name = _catalog_source(conn, shape, path, system_id, config)
        packs = set(cm.BatteryPack.objects.values_list("pk", flat=True)) | {
            str(bank["id"]) for bank in (document or {}).get("battery_banks", []) if isinstance(bank, dict)}
        found = scan.scan(conn, path, shape, specs, packs)
        found.days["hourly_energy"] = _hourly_inverters(conn, shape)
    with timer.phase("catalog"), transaction.atomic():
        result.catalog = _import_catalog(document, source_name, dry_run)
        placement = Placer(found, str(path), system_id, _timezone(conn, shape), _first_sample(found),
                           lambda inverter: vendor_from_rows(found, inverter)).place()
        result.created = placement.created
        if dry_run:
            transaction.set_rollback(True)
    if dry_run:
        result.tables = [report.TableLine(t, s.rows, 0, 0, s.cleared) for t, s in found.tables.items()]
        result.discovery = carry_over(conn, shape, path, dry_run=True).lines
        return result
    record = _record(conn, path, shape, specs)
    writer.load_maps(placement)
    follower = None
    if record.finished_at is None:
        # The rollups need the recorded intervals (and come after the pruned days' hours): first.
        _before_rollups(conn, path, shape, found, placement, result, timer)
        follower = _follower(conn, found, placement, record, writer, result)
    try:
        new_rows = _copy(writer, specs, found, record, result, timer, progress, follower)
        if follower is not None:
            follower.copied()
            with timer.phase("rollups"):
                follower.finish()
    finally:
        if follower is not None:
            follower.stop()
            result.rollups_beside_copy_s = follower.seconds
    result.longest_write_s = writer.longest_s
    result.interrupted_writes = writer.interrupted
    finished = record.finished_at is not None and not new_rows
    if not finished:
        if follower is None:
            _before_rollups(conn, path, shape, found, placement, result, timer)
        _after_copy(conn, found, placement, record, result, timer, new_rows, progress, writer)
    else:
        result.catalog.append("already imported; nothing was written")
    with timer.phase("report"):
        result.days = report.device_days(conn, found, placement, _legacy_system(conn, shape))
    return result


# ---- the catalog -------------------------------------------------------------------------------
def _catalog_source(conn: sqlite3.Connection, shape: Shape, path: Path, system_id: str | None,
                    config: Path | None) -> tuple[dict[str, Any] | None, str]:
    """The catalog to import: the file's catalog tables, else ``--config``; only into an empty solarmon."""
    if cm.System.objects.exists():
        return None, ""
    document = catalog_document(conn, shape, path, system_id)
    if document:
        return document, f"{path.name} (catalog tables)"
    if config is not None:
        return {"_config": str(config)}, config.name
    return None, ""


def _import_catalog(document: dict[str, Any] | None, name: str, dry_run: bool) -> list[str]:
    if cm.System.objects.exists() and document is None:
        return [f"solarmon's own catalog is used ({cm.System.objects.count()} system(s)); "
                "the original's catalog is not imported"]
    if document is None:
        return ["the file has no catalog tables and no --config was given: devices are placed "
                "in the default structure"]
    if "_config" in document:
        desired = parse_config(read_config(Path(document["_config"])), name)
    else:
        desired = parse_data(document, Problems(name))
    # Written even in a dry run (whose transaction is rolled back), so the devices are placed as
    # they would be.
    imported = import_desired(desired, name)
    imported.dry_run = dry_run
    return imported.lines()


def _timezone(conn: sqlite3.Connection, shape: Shape) -> str:
    """The original's configured timezone, for a system the import creates."""
    if shape.has("systems", "timezone"):
        row = conn.execute("SELECT timezone FROM legacy.systems WHERE timezone IS NOT NULL "
                           "ORDER BY system_id = 'system' DESC LIMIT 1").fetchone()
        if row and row[0]:
            return str(row[0])
    return constants.DEFAULT_TIMEZONE


def _hourly_inverters(conn: sqlite3.Connection, shape: Shape) -> dict[str, dict[str, scan.DeviceDay]]:
    """Inverters the original's hourly table names (they may have no samples left)."""
    if not shape.has("hourly_energy"):
        return {}
    out: dict[str, dict[str, scan.DeviceDay]] = {}
    for inverter, day, rows in conn.execute("SELECT inverter_id, date, count(*) FROM legacy.hourly_energy "
                                            "WHERE sample_count > 0 GROUP BY 1, 2"):
        out.setdefault(str(inverter), {})[str(day)] = scan.DeviceDay(int(rows), "", "")
    return out


def _first_sample(found: scan.Scan) -> datetime | None:
    firsts = [day.first for table, devices in found.days.items() if table != "hourly_energy"
              for days in devices.values() for day in days.values() if day.first]
    return datetime.fromisoformat(min(firsts)) if firsts else None


def _legacy_system(conn: sqlite3.Connection, shape: Shape) -> str | None:
    if not shape.has("energy_samples", "system_id"):
        return None
    row = conn.execute("SELECT system_id FROM legacy.energy_samples WHERE system_id IS NOT NULL "
                       "LIMIT 1").fetchone()
    return str(row[0]) if row else None


# ---- the samples -------------------------------------------------------------------------------
def _fingerprint(conn: sqlite3.Connection, shape: Shape, specs: dict[str, tables.TableSpec]) -> str:
    """The file's identity: its schema and the first row of each sample table."""
    digest = hashlib.sha256(repr(sorted(shape.columns.items())).encode())
    for table, spec in specs.items():
        first = conn.execute(f"SELECT ts, {spec.device} FROM legacy.{table} ORDER BY rowid "
                             "LIMIT 1").fetchone()
        digest.update(repr((table, first)).encode())
    return digest.hexdigest()


def _record(conn: sqlite3.Connection, path: Path, shape: Shape, specs: dict[str, tables.TableSpec]
            ) -> LegacyImport:
    record, _ = LegacyImport.objects.get_or_create(fingerprint=_fingerprint(conn, shape, specs),
                                                   defaults={"path": str(path), "shape": shape.name})
    for table in specs:
        LegacyTableProgress.objects.get_or_create(legacy_import=record, table=table)
    return record


def _copy(writer: Writer, specs: dict[str, tables.TableSpec], found: scan.Scan, record: LegacyImport,
          result: report.LegacyReport, timer: Timer, stream: Stream | None,
          follower: Follower | None) -> dict[str, int]:
    """Copy every table from where it stopped; per table, the rowid this run started from (tables
    with new rows only). The ``follower`` is told how far the copy has got."""
    done = {p.table: p for p in record.tables.all()}
    total = sum(t.rows for t in found.tables.values())
    bar = ProgressBar(stream, total) if stream is not None else None
    if bar is not None:
        bar.done = sum(min(p.rows_read, found.tables[p.table].rows) for p in done.values()
                       if p.table in found.tables)
    most = int(settings.SOLARMON_LEGACY_BATCH_ROWS)
    started: dict[str, int] = {}
    added: Counter[str] = Counter()  # rows this run wrote, per table
    if follower is not None:
        writer.span_guard = partial(_unless_late, follower, record)
    # The tables are copied side by side in time: the next batch is always that of the table whose
    # copy is furthest behind, so every table is about as far on and the rollups can follow the
    # copy from its first day (rather than from the last table's start).
    tables = {}
    for table in specs:
        low, top = done[table].last_rowid, found.tables[table].max_rowid
        if low < top:
            started[table] = low
            tables[table] = _TableCopy(low, top, most)
    with timer.phase("samples"):
        while tables:
            table = min(tables, key=lambda name: tables[name].frontier)
            state, spec, progress = tables[table], specs[table], done[table]
            high = min(state.low + state.batch, state.top)
            try:
                read, written = writer.write(spec, state.low, high, progress, bounded=state.batch > MIN_BATCH)
            except LockBound:
                # Rolled back at the lock's bound: the same rows again, in smaller batches.
                writer.interrupted += 1
                state.batch = max(MIN_BATCH, state.batch // 4)
                continue
            state.batch = _next_batch(state.batch, most, writer.last_hold_s)
            if writer.last_span is not None:
                state.frontier = parse_ts(writer.last_span[1])
            state.low = high
            if state.low >= state.top:
                del tables[table]
            if follower is not None and tables:
                # Every row before the least advanced table's last one is copied (rows are in time
                # order; a late one is caught before it is written, see _unless_late).
                follower.advance(min(t.frontier for t in tables.values()))
            added[table] += written
            if bar is not None:
                bar.advance(read, table)
    writer.span_guard = None
    if bar is not None:
        bar.finish()
    for table in specs:
        progress = done[table]
        rows = found.tables[table].rows
        if progress.last_rowid >= found.tables[table].max_rowid and progress.rows_read != rows:
            # Batches count rowids; a file with deleted rows has fewer rows than rowids.
            progress.rows_read = rows
            progress.save(update_fields=["rows_read"])
        # What this run added; the rest was there already (an earlier run's, or a duplicate row).
        result.tables.append(report.TableLine(table, rows, added[table], rows - added[table],
                                              found.tables[table].cleared))
    if record.samples_done_at is None:
        record.samples_done_at = timezone.now()
        record.save(update_fields=["samples_done_at"])
    return started


@dataclass
class _TableCopy:
    """Where one table's copy is: the next rowid range's start, the last rowid, the batch's rows,
    and the time of the last row written (NEVER before its first batch of this run)."""

    low: int
    top: int
    batch: int
    frontier: datetime = NEVER


# A batch's transaction: grow below, shrink above. At least about SQLite's busy-handler step
# (writer.YIELD_S): converting the next batch, outside the lock, takes about as long as moving
# one, so each write is preceded by a gap a waiting writer gets in by, and the import seldom
# pauses for one; and well inside the lock's bound (half of SOLARMON_LEGACY_MAX_HOLD_S), so a
# busy moment seldom cuts a write short.
BATCH_TARGET_S = (0.1, 0.15)
MIN_BATCH = 100  # a batch this small is written however long it takes (it cannot shrink further)


def _next_batch(batch: int, most: int, took: float) -> int:
    """The next batch's rows: fewer when a batch took longer than BATCH_TARGET_S (a busy machine,
    a slow card), so a transaction stays short enough for a writer waiting beside the import;
    more again, up to SOLARMON_LEGACY_BATCH_ROWS, when it is quick."""
    low, high = BATCH_TARGET_S
    if took > high:
        return max(MIN_BATCH, int(batch * high / took))
    if took < low:
        return min(most, batch * 2)
    return batch


@contextmanager
def _unless_late(follower: Follower, record: LegacyImport, span: Span) -> Iterator[None]:
    """A batch's write: when a row of it falls where a day already handed to the rollups reads,
    first stop the follower and take the rollups' progress back to before that day (see
    :mod:`legacy.follow`); the days from there are rolled up after the copy."""
    if span is None:
        yield
        return
    first = parse_ts(span[0])
    with follower.unless_late(first) as late:
        if not late:
            yield
            return
    _take_back(follower, record, first)
    yield


def _take_back(follower: Follower, record: LegacyImport, first: datetime) -> None:
    follower.stop()
    for system_id, through in list(record.rolled_through.items()):
        zone = ZoneInfo(cm.System.objects.get(pk=system_id).timezone)
        back = day_before(first, zone)
        if date.fromisoformat(through) > back:
            record.rolled_through[system_id] = back.isoformat()
    record.save(update_fields=["rolled_through"])


def _follower(conn: sqlite3.Connection, found: scan.Scan, placement: Placement, record: LegacyImport,
              writer: Writer, result: report.LegacyReport) -> Follower | None:
    """A follower rolling up the import's days beside the copy (see :mod:`legacy.follow`), started."""
    plan, zones = _plan(conn, found, placement, record, {})
    if not plan:
        return None
    rolled = {system: date.fromisoformat(day) for system, day in record.rolled_through.items()}
    by_system: dict[str, list[date]] = {}
    for system_id, day in plan:
        by_system.setdefault(system_id, []).append(day)
    turns = writer.turns.turn if writer.turns is not None else None

    def roll(system_id: str, days: Iterator[date]) -> None:
        def done(day: date, seconds: float, interrupted: int) -> None:
            result.longest_rollup_s = max(result.longest_rollup_s, seconds)
            result.interrupted_rollup_writes += interrupted
            result.rolled_days += 1
            record.rolled_through[system_id] = day.isoformat()
            with turns() if turns is not None else nullcontext():
                record.save(update_fields=["rolled_through"])

        recompute_days(system_id, days, done, turns, writer.bound_s)

    follower = Follower(by_system, zones, roll, import_pragmas, rolled)
    follower.start()
    return follower


def _before_rollups(conn: sqlite3.Connection, path: Path, shape: Shape, found: scan.Scan,
                    placement: Placement, result: report.LegacyReport, timer: Timer) -> None:
    """Discovery rows, the hours of pruned days and the recorded intervals (which the rollups read)."""
    with timer.phase("discovery and hours"):
        result.discovery = carry_over(conn, shape, path, dry_run=False).lines
        pruned = hourly.pruned_hours(conn, shape, path, found, placement)
        result.imported_hours = hourly.import_pruned_days(pruned)
        for table, ids in (("energy_samples", placement.inverters), ("meter_samples", placement.meters),
                           ("battery_bank_samples", placement.packs)):
            if table in found.tables:
                result.recorded_intervals += cadence.record_intervals(
                    conn, table, {legacy: placed[0] for legacy, placed in ids.items()})


def _after_copy(conn: sqlite3.Connection, found: scan.Scan, placement: Placement, record: LegacyImport,
                result: report.LegacyReport, timer: Timer, new_rows: dict[str, int], stream: Stream | None,
                writer: Writer) -> None:
    with timer.phase("rollups"):
        result.rolled_days += _roll(conn, found, placement, record, new_rows, stream, result, writer)
    record.finished_at = timezone.now()
    record.save(update_fields=["finished_at"])


# ---- the rollups -------------------------------------------------------------------------------
def _plan(conn: sqlite3.Connection, found: scan.Scan, placement: Placement, record: LegacyImport,
          new_rows: dict[str, int]) -> tuple[list[tuple[str, date]], dict[str, ZoneInfo]]:
    """Every imported local day of every system still to roll up, in order, and the systems' zones."""
    plan: list[tuple[str, date]] = []
    zones: dict[str, ZoneInfo] = {}
    for system_id, (first, last) in _spans(found, placement).items():
        zone = zones[system_id] = ZoneInfo(cm.System.objects.get(pk=system_id).timezone)
        day, end = local_date(first, zone), local_date(last, zone)
        redo = _earliest_new(conn, new_rows, zone) if record.finished_at is not None else None
        through = record.rolled_through.get(system_id)
        if through is not None:
            day = max(day, date.fromisoformat(through) + timedelta(days=1))
        if redo is not None:
            day = min(day, redo)
        while day <= end:
            plan.append((system_id, day))
            day += timedelta(days=1)
    return plan, zones


def _roll(conn: sqlite3.Connection, found: scan.Scan, placement: Placement, record: LegacyImport,
          new_rows: dict[str, int], stream: Stream | None, result: report.LegacyReport,
          writer: Writer) -> int:
    """Recompute every imported local day of every system not rolled up yet, in order, resuming
    where it stopped."""
    plan, _ = _plan(conn, found, placement, record, new_rows)
    turns = writer.turns.turn if writer.turns is not None else None
    bar = ProgressBar(stream, len(plan), unit="days") if stream is not None and plan else None
    for system_id in dict.fromkeys(system for system, _ in plan):

        def done(day: date, seconds: float, interrupted: int, system_id: str = system_id) -> None:
            result.longest_rollup_s = max(result.longest_rollup_s, seconds)
            result.interrupted_rollup_writes += interrupted
            record.rolled_through[system_id] = day.isoformat()
            record.save(update_fields=["rolled_through"])
            if bar is not None:
                bar.advance(1, f"rollups {system_id} {day}")

        with import_pragmas():
            recompute_days(system_id, [day for system, day in plan if system == system_id], done, turns,
                           writer.bound_s)
    if bar is not None:
        bar.finish()
    return len(plan)


@contextmanager
def import_pragmas() -> Iterator[None]:
    """SQLite: settings of solarmon's own connection while it recomputes imported days, restored
    after. A bigger page cache keeps a day's sample pages at hand; temporary tables (the staged
    tiers) stay in memory; its commits do not checkpoint the write-ahead log: the writer's
    checkpointer does after each of them (:class:`legacy.writer.Checkpointer`). Durability is unchanged
    (synchronous stays NORMAL)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield  # (temp_store cannot change inside a transaction)
        return
    pragmas = {"cache_size": -int(settings.SOLARMON_LEGACY_CACHE_MB) * 1024, "temp_store": 2,
               "wal_autocheckpoint": 0}
    with connection.cursor() as cursor:
        before = {}
        for name in pragmas:
            cursor.execute(f"PRAGMA {name}")
            before[name] = cursor.fetchone()[0]
        for name, value in pragmas.items():
            cursor.execute(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, value in before.items():
                cursor.execute(f"PRAGMA {name} = {int(value)}")


def _spans(found: scan.Scan, placement: Placement) -> dict[str, tuple[datetime, datetime]]:
    """Per system, the first and last sample of its devices."""
    systems = {"energy_samples": {k: v[2] for k, v in placement.inverters.items()},
               "meter_samples": {k: v[1] for k, v in placement.meters.items()},
               "battery_bank_samples": {k: v[2] for k, v in placement.packs.items()},
               "array_samples": {k: v[1] for k, v in placement.arrays.items()}}
    spans: dict[str, tuple[datetime, datetime]] = {}
    for table, owners in systems.items():
        for device, days in found.days.get(table, {}).items():
            if device not in owners or not days:
                continue
            first = datetime.fromisoformat(min(d.first for d in days.values()))
            last = datetime.fromisoformat(max(d.last for d in days.values()))
            have = spans.get(owners[device])
            spans[owners[device]] = (min(first, have[0]), max(last, have[1])) if have else (first, last)
    return spans


def _earliest_new(conn: sqlite3.Connection, new_rows: dict[str, int], zone: ZoneInfo) -> date | None:
    """The first local day touched by rows this run added to a finished import (the original ran on)."""
    firsts = []
    for table, low in new_rows.items():
        row = conn.execute(f"SELECT min({cadence.EPOCH_SQL}) FROM legacy.{table} WHERE rowid > ?",
                           (low,)).fetchone()
        if row and row[0] is not None:
            firsts.append(datetime.fromtimestamp(row[0], zone))
    return min(firsts).date() if firsts else None


__all__ = ["LegacyError", "import_legacy"]
