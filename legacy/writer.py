"""Copying sample rows in short batches, without building model instances.

The rows are converted by SQL in SQLite (:mod:`legacy.tables`) over the original's file, attached
read-only as ``legacy`` to a connection of the importer's own. With solarmon on SQLite that
connection is to solarmon's database file, so a batch is converted into a temporary table and
moved with one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` inside SQLite, its write bounded by
time. With PostgreSQL the converted rows are streamed with ``COPY`` into a temporary table and
moved with ``INSERT … ON CONFLICT DO NOTHING``. Either way each batch is one short transaction
that also records how far its table has got, so polling is never held up for long and an
interrupted import resumes at the first batch that was not committed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from legacy.models import LegacyTableProgress
from legacy.placement import DEYE_FAMILY, Placement
from legacy.source import LegacyError
from legacy.tables import UTC_TS, TableSpec, copy_sql, select_sql
from solarmon.sqlite_bounds import interrupted_after

# The maps' tables, created WITHOUT ROWID: a row found by its key is read from the key's b-tree,
# without a second lookup by rowid (the two lookups of a cell row's maps took a quarter of its
# conversion).
MAPS = {
    "legacy_inverters": "legacy_id TEXT PRIMARY KEY, inverter_id TEXT, array_id TEXT, system_id TEXT, "
                        "current_sign REAL, temp_offset REAL",
    "legacy_arrays": "legacy_id TEXT PRIMARY KEY, array_id TEXT, system_id TEXT",
    "legacy_meters": "legacy_id TEXT PRIMARY KEY, meter_id TEXT, system_id TEXT, array_id TEXT",
    "legacy_packs": "legacy_id TEXT PRIMARY KEY, pack_id TEXT, battery_array_id TEXT, system_id TEXT",
    "legacy_units": "legacy_id TEXT, power INTEGER, battery_id TEXT, PRIMARY KEY (legacy_id, power)",
    "legacy_cells": "legacy_id TEXT, power INTEGER, cell INTEGER, cell_id TEXT, battery_id TEXT, "
                    "PRIMARY KEY (legacy_id, power, cell)",
}
# SQLite's busy handler retries a waiting writer at most every 100 ms: a pause a little longer
# than that always lets one in.
YIELD_S = 0.11
# Powdrive (Deye) stores the battery current + = discharging and the temperature + 100.
DEYE_CURRENT_SIGN, DEYE_TEMP_OFFSET = -1.0, 100.0


# A batch's first and last timestamp (UTC, solarmon's text form), or None for an empty batch.
Span = tuple[str, str] | None


class WriteTurns:
    """The import's turns at SQLite's write lock, shared by its writers (the sample copy and the
    rollups computed beside it): one at a time, and a pause for a waiting writer (polling) once
    they have held the lock about ``bound_s`` since the last gap one could use.

    SQLite's busy handler retries a waiting writer at most every 100 ms, so a gap of YIELD_S
    between two transactions always lets one in. Work done between two turns (converting the next
    batch, computing the next day's rollups) is such a gap when it takes that long; otherwise the
    next turn pauses for the rest once the lock has been held more than ``bound_s`` since the last
    gap. Taking turns (a mutex) keeps the import's two writers from both waiting at SQLite's lock,
    where polling would have to win against both.
    """

    def __init__(self, bound_s: float, after: Callable[[], None] | None = None) -> None:
        self.bound_s = bound_s
        self.held_s = 0.0  # the write lock held since the last gap a writer could use
        self.last_release = 0.0  # monotonic time the last turn ended
        self._mutex = threading.Lock()
        self._after = after  # called after each turn, once the next one may begin

    @contextmanager
    def turn(self) -> Iterator[None]:
        """One write transaction's turn; its time counts as holding the lock."""
        with self._mutex:
            gap = time.monotonic() - self.last_release
            if gap >= YIELD_S:
                self.held_s = 0.0
            elif self.held_s > self.bound_s:
                time.sleep(YIELD_S - gap)
                self.held_s = 0.0
            began = time.monotonic()
            try:
                yield
            finally:
                self.last_release = time.monotonic()
                self.held_s += self.last_release - began
        if self._after is not None:
            self._after()


class Checkpointer:
    """Checkpoints solarmon's write-ahead log in a thread of its own after each of the import's
    write transactions (whose connections do not checkpoint themselves), so neither the copy nor
    the rollups wait for a checkpoint's writes and syncs, nor hold their turn at the lock
    meanwhile. A checkpoint follows every commit, so the log stays about one transaction long and
    polling's own commits seldom find it past SQLite's checkpoint threshold (~4 MB)."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=float(settings.SOLARMON_LEGACY_BUSY_TIMEOUT_S))
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._due = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="legacy-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """A write transaction of the import has committed: checkpoint soon."""
        self._due.set()

    def _run(self) -> None:
        while not self._stopped:
            self._due.wait()
            self._due.clear()
            try:
                # PASSIVE: copies what no reader needs, never waits for (or blocks) a writer.
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                continue  # (the next commit's checkpoint tries again; polling's would too)

    def close(self) -> None:
        self._stopped = True
        self._due.set()
        self._thread.join()
        self._conn.close()


class Writer(ABC):
    """A reading connection with the original's file attached, and how batches are written."""

    def __init__(self, path: Path, main: str) -> None:
        self.path = path
        self.longest_s = 0.0  # the longest write transaction so far (what polling may wait for)
        self.last_hold_s = 0.0  # how long the last batch's write transaction took
        self.interrupted = 0  # writes cut short at the lock's bound and done again smaller
        # How long one write transaction may hold SQLite's write lock (None: not bounded).
        self.bound_s: float | None = None
        # The turns at the write lock (SQLite only), shared with the rollups beside the copy.
        self.turns: WriteTurns | None = None
        # When set, each batch's write runs in ``span_guard(span)`` (see legacy.follow); the span
        # of the last batch written is kept.
        self.span_guard: Callable[[Span], AbstractContextManager[None]] | None = None
        self.last_span: Span = None
        self.conn = sqlite3.connect(main, uri=True, isolation_level=None, check_same_thread=False,
                                    timeout=float(settings.SOLARMON_LEGACY_BUSY_TIMEOUT_S))
        self.conn.execute("ATTACH DATABASE ? AS legacy", (f"{path.resolve().as_uri()}?mode=ro",))

    def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.conn.close()

    def load_maps(self, placement: Placement) -> None:
        """The temporary tables that place every legacy device id (see :mod:`legacy.tables`)."""
        for name, columns in MAPS.items():
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
            self.conn.execute(f"CREATE TEMP TABLE {name} ({columns}) WITHOUT ROWID")
        rows: dict[str, list[tuple[object, ...]]] = {
            "legacy_inverters": [(legacy, *ids, *_conventions(placement.vendors[legacy]))
                                 for legacy, ids in placement.inverters.items()],
            "legacy_arrays": [(legacy, *ids) for legacy, ids in placement.arrays.items()],
            "legacy_meters": [(legacy, *ids) for legacy, ids in placement.meters.items()],
            "legacy_packs": [(legacy, *ids) for legacy, ids in placement.packs.items()],
            "legacy_units": [(pack, power, battery) for (pack, power), battery in placement.units.items()],
            "legacy_cells": [(pack, power, cell, *ids)
                             for (pack, power, cell), ids in placement.cells.items()],
        }
        for name, values in rows.items():
            if values:
                marks = ", ".join("?" * len(values[0]))
                self.conn.executemany(f"INSERT INTO temp.{name} VALUES ({marks})", values)

    def unplaced(self, spec: TableSpec, low: int, high: int, exc: Exception) -> LegacyError:
        """A batch that solarmon's constraints refused (the scan should have made that impossible)."""
        return LegacyError(f"{self.path}: table {spec.name}, rows {low + 1}-{high}: a row cannot be stored "
                           f"({exc}); the batches before it are imported, and the import goes on from this "
                           "batch when run again", partial=True)

    @abstractmethod
    def write(self, spec: TableSpec, low: int, high: int, progress: LegacyTableProgress, *,
              bounded: bool = True) -> tuple[int, int]:
        """Copy the rows in (low, high] and record the progress, in one transaction: (read, new)."""


def _conventions(vendor: str) -> tuple[float, float]:
    return (DEYE_CURRENT_SIGN, DEYE_TEMP_OFFSET) if vendor in DEYE_FAMILY else (1.0, 0.0)


class LockBound(Exception):
    """A batch's write would have held the write lock past SOLARMON_LEGACY_MAX_HOLD_S: it was rolled
    back, and is to be written again in smaller batches."""


class SQLiteWriter(Writer):
    """solarmon on SQLite: the batch never leaves SQLite.

    A batch is converted first, into a temporary table of this connection, without holding
    solarmon's write lock (the conversion reads only the original's file and the maps); only
    then is it moved into solarmon's table in one short ``BEGIN IMMEDIATE`` transaction. The
    conversion of the next batch is the gap in which a waiting writer (polling) gets the lock;
    where it is shorter than :data:`YIELD_S` and the lock has been held about
    SOLARMON_LEGACY_MAX_HOLD_S since the last real gap, the import pauses for the rest.

    A write that runs past SOLARMON_LEGACY_MAX_HOLD_S (a busy machine, a slow card) is
    interrupted, rolled back and raises :class:`LockBound`, so no transaction of the import holds
    the lock longer, whatever the rows cost. The write-ahead log is checkpointed after each of the
    import's commits by a thread of its own (:class:`Checkpointer`): left to grow, it would be
    checkpointed by the first commit of polling after it, which then waits for the whole checkpoint.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, str(connection.settings_dict["NAME"]))
        # Held at most half the setting per transaction, and again at most half before a pause:
        # a waiting writer waits at most the setting (plus its busy handler's 0.1 s step).
        self.bound_s = float(settings.SOLARMON_LEGACY_MAX_HOLD_S) / 2
        self.checkpointer = Checkpointer(str(connection.settings_dict["NAME"]))
        self.turns = WriteTurns(self.bound_s, after=self.checkpointer.committed)
        # solarmon's rows are placed through its catalog (the maps), so foreign keys are not
        # looked up again per row; a bigger cache keeps the indexes' pages at hand; staged batches
        # stay in memory.
        self.conn.execute("PRAGMA foreign_keys = OFF")
        self.conn.execute("PRAGMA synchronous = NORMAL")  # as solarmon's own connections (WAL)
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer's work
        self.conn.execute(f"PRAGMA cache_size = -{int(settings.SOLARMON_LEGACY_CACHE_MB) * 1024}")
        self.conn.execute("PRAGMA temp_store = MEMORY")
        self._staged: set[str] = set()

    def close(self) -> None:
        super().close()
        self.checkpointer.close()

    def _stage(self, spec: TableSpec, low: int, high: int) -> str:
        """Convert rows (low, high] into this connection's temporary table; no lock on solarmon's."""
        stage = f"legacy_stage_{spec.name}"
        columns = ", ".join(spec.columns)
        if stage not in self._staged:
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{stage}")
            self.conn.execute(f"CREATE TEMP TABLE {stage} AS SELECT {columns} FROM main.{spec.name} WHERE 0")
            self._staged.add(stage)
        self.conn.execute(f"DELETE FROM temp.{stage}")
        self.conn.execute(f"INSERT INTO temp.{stage} ({columns}) " + select_sql(spec), (low, high))
        return stage

    def _span(self, stage: str) -> Span:
        first, last = self.conn.execute(f"SELECT min(ts), max(ts) FROM temp.{stage}").fetchone()
        return None if first is None else (str(first), str(last))

    def write(self, spec: TableSpec, low: int, high: int, progress: LegacyTableProgress, *,
              bounded: bool = True) -> tuple[int, int]:
        """As :meth:`Writer.write`; raises :class:`LockBound` (nothing written) when ``bounded`` and
        the write would hold the lock too long."""
        # Every row of the range is placed (the scan made sure), so the range's span is what it reads
        # unless rows were deleted from the file; the exact total is the scan's (see services._copy).
        read = high - low
        stage = self._stage(spec, low, high)
        span = self._span(stage) if self.span_guard is not None else None
        assert self.turns is not None
        with self.span_guard(span) if self.span_guard is not None else nullcontext(), self.turns.turn():
            written, took = self._move(spec, stage, low, high, read, progress, bounded)
        self.last_hold_s = took
        self.longest_s = max(self.longest_s, took)
        self.last_span = span
        progress.last_rowid, progress.rows_read, progress.rows_written = (
            high, progress.rows_read + read, progress.rows_written + written)
        return read, written

    def _move(self, spec: TableSpec, stage: str, low: int, high: int, read: int,
              progress: LegacyTableProgress, bounded: bool) -> tuple[int, float]:
        """The batch's write transaction: (rows written, seconds the lock was held)."""
        columns = ", ".join(spec.columns)
        assert self.bound_s is not None
        self.conn.execute("BEGIN IMMEDIATE")
        # The lock is held from here (waiting for it above is not holding it).
        began = time.monotonic()
        try:
            with interrupted_after(self.conn, self.bound_s if bounded else None):
                # Rows already there are skipped; anything else wrong with a row is an error, not a skip.
                written = self.conn.execute(f"INSERT INTO main.{spec.name} ({columns}) SELECT {columns} "
                                            f"FROM temp.{stage} WHERE 1 ON CONFLICT DO NOTHING").rowcount
                self.conn.execute("UPDATE legacy_table_progress SET last_rowid = ?, "
                                  "rows_read = rows_read + ?, rows_written = rows_written + ? WHERE id = ?",
                                  (high, read, written, progress.pk))
            self.conn.execute("COMMIT")  # outside the bound: a commit is never cut short
        except sqlite3.IntegrityError as exc:
            self._rollback()
            raise self.unplaced(spec, low, high, exc) from exc
        except sqlite3.OperationalError as exc:
            self._rollback()
            if "interrupt" in str(exc):
                raise LockBound(f"{spec.name} rows {low + 1}-{high}") from exc
            raise
        except BaseException:
            self._rollback()
            raise
        return written, time.monotonic() - began

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


class PostgresWriter(Writer):
    """solarmon on PostgreSQL: converted rows go through ``COPY`` into a temporary table."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, ":memory:")

    def write(self, spec: TableSpec, low: int, high: int, progress: LegacyTableProgress, *,
              bounded: bool = True) -> tuple[int, int]:
        # SQLite writes the COPY text itself: no Python object per value. (PostgreSQL's row locks
        # never stop polling's inserts, so a batch is not bounded by time.)
        count, block = self.conn.execute(copy_sql(spec), (low, high)).fetchone()
        span = None
        if self.span_guard is not None:
            first, last = self.conn.execute(f"SELECT min({UTC_TS}), max({UTC_TS}) FROM legacy.{spec.name} s "
                                            "WHERE s.rowid > ? AND s.rowid <= ?", (low, high)).fetchone()
            span = None if first is None else (str(first), str(last))
        began = time.monotonic()
        try:
            with self.span_guard(span) if self.span_guard is not None else nullcontext():
                written = self._copy(spec, high, count, block, progress)
        except (IntegrityError, psycopg.IntegrityError) as exc:
            raise self.unplaced(spec, low, high, exc) from exc
        self.last_hold_s = time.monotonic() - began
        self.longest_s = max(self.longest_s, self.last_hold_s)
        self.last_span = span
        return count, written

    def _copy(self, spec: TableSpec, high: int, count: int, block: str | None,
              progress: LegacyTableProgress) -> int:
        stage = f"legacy_stage_{spec.name}"
        columns = ", ".join(spec.columns)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {spec.name} INCLUDING DEFAULTS) "
                           "ON COMMIT DELETE ROWS")
            written = 0
            if count:
                with cursor.cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    copy.write(block)
                cursor.execute(f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM {stage} "
                               "ON CONFLICT DO NOTHING")
                written = max(cursor.rowcount, 0)
            progress.last_rowid = high
            progress.rows_read += count
            progress.rows_written += written
            progress.save(update_fields=["last_rowid", "rows_read", "rows_written"])
        return written


def open_writer(path: Path) -> Writer:
    """The writer for the database solarmon runs on."""
    return SQLiteWriter(path) if connection.vendor == "sqlite" else PostgresWriter(path)
