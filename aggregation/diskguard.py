"""The disk guard: keep free space on the data disk by pruning raw samples early.

The guard watches the disk of ``SOLARMON_DATA_DIR`` (the SQLite database and the broker
folder). Its threshold is the smaller of ``SOLARMON_DISK_MIN_FREE_PCT`` of the disk and
``SOLARMON_DISK_MIN_FREE_MB``: 1 GB on a 32 GB card, 10 % of a small disk, and never a
quarter of a large one. Below it, the guard prunes raw samples early, the oldest day
first, through :func:`aggregation.retention.prune_raw_samples` with a shorter
``keep_days`` each step, until the threshold is cleared or nothing more may go. Retention
decides what may go (only raw samples whose rollups and tiers exist; never rollups), and the
guard never keeps fewer than ``SOLARMON_DISK_GUARD_MIN_RAW_DAYS`` days, which the live
figures and the rollups of the last days read.

Space counts as available when the filesystem has it or when SQLite can reuse it: pruned rows
leave free pages inside the database file, which new rows fill before the file grows. With
PostgreSQL (or SQLite on another disk) the database is not on the watched disk: the guard
reports the disk and prunes nothing, since pruning could not help it.

What the guard did is kept in a small file in the data directory (``storage_guard.json``),
which the dashboard, the admin and the API read together with the live free space.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Min
from django.utils import timezone

from telemetry.diskfull import is_disk_full

log = logging.getLogger(__name__)

MB = 1024 * 1024
DAY = timedelta(days=1)
# Below this much free space on the filesystem, writes fail (a battery pack's poll alone
# writes tens of kB, and the broker needs room for its message files).
FULL_BELOW_BYTES = 1 * MB
# How long the dashboard keeps saying that raw samples were pruned early.
EARLY_PRUNE_NOTICE = timedelta(hours=24)
RECORD_NAME = "storage_guard.json"


class Level:
    OK = "ok"
    LOW = "low"
    FULL = "full"


@dataclass(frozen=True)
class Volume:
    """The data disk as solarmon sees it."""

    path: str
    total_bytes: int
    free_bytes: int  # free on the filesystem, for this user
    reusable_bytes: int  # free pages inside the SQLite database, if it is on this disk
    holds_database: bool

    @property
    def available_bytes(self) -> int:
        return self.free_bytes + self.reusable_bytes


@dataclass
class GuardRecord:
    """What the last guard runs found and did (the state file)."""

    level: str = Level.OK
    checked_at: str | None = None
    low_since: str | None = None
    pruned_at: str | None = None  # the last time raw samples were pruned early
    keep_days: int | None = None  # ... down to this many days
    pruned_rows: dict[str, int] = field(default_factory=dict)
    exhausted: bool = False  # still below the threshold, and nothing more may go
    problem: str = ""


def threshold_bytes(total_bytes: int) -> int:
    """Free space the guard keeps: the smaller of the percentage of the disk and the MB."""
    by_share = total_bytes * settings.SOLARMON_DISK_MIN_FREE_PCT / 100
    return int(min(by_share, settings.SOLARMON_DISK_MIN_FREE_MB * MB))


def sqlite_file() -> Path | None:
    """The SQLite database file, or None on PostgreSQL."""
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    return None if name.startswith(":memory:") or name.startswith("file:") else Path(name)


def sqlite_reusable_bytes() -> int:
    """Bytes of the free pages inside the SQLite database (reused before the file grows)."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA freelist_count")
        pages = cursor.fetchone()[0]
        cursor.execute("PRAGMA page_size")
        return int(pages) * int(cursor.fetchone()[0])


def measure_volume() -> Volume:
    """The data disk now: one statvfs and, on SQLite, two pragmas."""
    folder = Path(settings.DATA_DIR)
    usage = shutil.disk_usage(folder)
    database = sqlite_file()
    holds = database is not None and database.exists() and \
        os.stat(database).st_dev == os.stat(folder).st_dev
    return Volume(path=str(folder), total_bytes=usage.total, free_bytes=usage.free,
                  reusable_bytes=sqlite_reusable_bytes() if holds else 0, holds_database=holds)


def full_disk_problem() -> str | None:
    """Why solarmon cannot start now, if the data disk is full (a statvfs, no database access:
    SQLite cannot even open a database in WAL mode without room for its shared-memory file)."""
    folder = Path(settings.DATA_DIR)
    free = shutil.disk_usage(folder).free
    if free >= FULL_BELOW_BYTES:
        return None
    return (f"The data disk is full ({human_size(free)} free in {folder}): the database cannot be opened. "
            "Free some space on it, then start solarmon again.")


def level_of(volume: Volume) -> str:
    if volume.free_bytes < FULL_BELOW_BYTES:
        return Level.FULL
    if volume.available_bytes < threshold_bytes(volume.total_bytes):
        return Level.LOW
    return Level.OK


# ---- the record ---------------------------------------------------------------------------
def _record_path() -> Path:
    return Path(settings.DATA_DIR) / RECORD_NAME


def read_record() -> GuardRecord:
    """The last record; a missing or unreadable file reads as "nothing done yet"."""
    try:
        raw = json.loads(_record_path().read_text())
        known = {k: v for k, v in raw.items() if k in GuardRecord.__dataclass_fields__}
        return GuardRecord(**known)
    except (OSError, ValueError, TypeError):
        return GuardRecord()


def write_record(record: GuardRecord) -> None:
    """Replace the record atomically; on a full disk the old one stays (and says so less)."""
    path = _record_path()
    temp = path.with_name(f".{path.name}.tmp")
    try:
        temp.write_text(json.dumps(asdict(record), sort_keys=True))
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        log.debug("disk guard: record not written: %s", exc)


# ---- the guard --------------------------------------------------------------------------
_RUN_LOCK = threading.Lock()
Probe = Callable[[], Volume]  # measures the disk


def oldest_raw_sample() -> datetime | None:
    from aggregation.retention import SAMPLE_MODELS

    firsts = [model._default_manager.aggregate(m=Min("ts"))["m"] for model in SAMPLE_MODELS]
    return min((ts for ts in firsts if ts is not None), default=None)


def truncate_wal() -> None:
    """Empty the write-ahead log after a prune, so it does not hold the space the deletes took.

    Pruning already hands freed pages back (:func:`aggregation.vacuum.reclaim_space`); the
    deletes themselves went through the log. Best effort: readers holding an old snapshot make
    the checkpoint wait for the next time.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.fetchall()
    except DatabaseError as exc:
        log.debug("disk guard: no checkpoint now: %s", exc)


def _prune_early(now: datetime, probe: Probe, threshold: int, record: GuardRecord) -> Volume:
    """Step ``keep_days`` down from the oldest sample's age until the threshold is cleared."""
    from aggregation.retention import prune_raw_samples

    oldest = oldest_raw_sample()
    floor = settings.SOLARMON_DISK_GUARD_MIN_RAW_DAYS
    keep = -1 if oldest is None else min(settings.SOLARMON_RAW_RETENTION_DAYS - 1, (now - oldest) // DAY)
    pruned: Counter[str] = Counter()
    volume = probe()
    while keep >= floor and volume.available_bytes < threshold:
        pruned.update(prune_raw_samples(now=now, keep_days=keep))
        truncate_wal()
        volume = probe()
        if sum(pruned.values()):
            record.keep_days = keep
        keep -= 1
    if sum(pruned.values()):
        record.pruned_at, record.pruned_rows = now.isoformat(), dict(+pruned)
        rows = ", ".join(f"{table} {n}" for table, n in sorted(pruned.items()) if n)
        log.warning("disk guard: pruned raw samples older than %d days early (%s); now %s free on %s, "
                    "%s kept free", record.keep_days, rows, human_size(volume.available_bytes), volume.path,
                    human_size(threshold))
    return volume


def guard_disk(now: datetime | None = None, probe: Probe = measure_volume) -> GuardRecord | None:
    """Check the data disk and prune early if it is low; None if a run is already going on.

    ``probe`` measures the disk (after each pruning step as well).
    """
    if not _RUN_LOCK.acquire(blocking=False):
        return None
    try:
        return _guard(now or timezone.now(), probe)
    finally:
        _RUN_LOCK.release()


# This process's last record per data directory: the file is stale when the disk was too full.
_LAST: dict[Path, GuardRecord] = {}


def _guard(now: datetime, probe: Probe) -> GuardRecord:
    before = _LAST.get(_record_path()) or read_record()
    record = GuardRecord(pruned_at=before.pruned_at, keep_days=before.keep_days,
                         pruned_rows=before.pruned_rows, low_since=before.low_since)
    volume = probe()
    threshold = threshold_bytes(volume.total_bytes)
    if volume.available_bytes < threshold and volume.holds_database:
        try:
            volume = _prune_early(now, probe, threshold, record)
        except DatabaseError as exc:
            if not is_disk_full(exc):
                raise
            record.problem = "the disk is too full to prune; it is tried again at the next check"
            volume = probe()
    record.level = level_of(volume)
    record.exhausted = volume.available_bytes < threshold and volume.holds_database and not record.problem
    if record.level == Level.OK:
        record.low_since = None
    elif before.level == Level.OK or record.low_since is None:
        record.low_since = now.isoformat()
        log.warning("disk guard: %s free of %s on %s, below the %s kept free",
                    human_size(volume.available_bytes), human_size(volume.total_bytes), volume.path,
                    human_size(threshold))
    if record.exhausted and not before.exhausted:
        log.error("disk guard: nothing more may be pruned; %s free on %s. Free space on the disk or lower "
                  "SOLARMON_RAW_RETENTION_DAYS.", human_size(volume.available_bytes), volume.path)
    record.checked_at = now.isoformat()
    if _changed(before, record):
        write_record(record)
    _LAST[_record_path()] = record
    return record


def _changed(before: GuardRecord, after: GuardRecord) -> bool:
    volatile = {"checked_at"}
    a, b = asdict(before), asdict(after)
    return any(a[k] != b[k] for k in a if k not in volatile)


class _Relief:
    """Runs the guard in a thread of this process when a write finds the disk full."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = float("-inf")

    def soon(self) -> None:
        """At most once per guard period. Beat cannot queue the guard task while the broker's
        disk is full, so the process that meets the full disk runs it itself."""
        now = time.monotonic()
        with self._lock:
            if now - self._last < settings.SOLARMON_DISK_GUARD_PERIOD_S:
                return
            self._last = now
        threading.Thread(target=self._run, name="disk-guard", daemon=True).start()

    def _run(self) -> None:
        try:
            guard_disk()
        except Exception as exc:  # a thread of its own: nobody else would see it
            if is_disk_full(exc):
                log.info("disk guard: could not run on the full disk: %s", exc)
            else:
                log.exception("disk guard failed")
        finally:
            connection.close()


_RELIEF = _Relief()


def relieve_pressure_soon() -> None:
    """Run the guard now, in the background (writes just met a full disk)."""
    _RELIEF.soon()


def human_size(n: float) -> str:
    """12 kB, 1.5 MB, 2.0 GB."""
    if abs(n) < 0.1 * MB:
        return f"{n / 1024:.0f} kB"
    return f"{n / MB:.1f} MB" if abs(n) < 1024 * MB else f"{n / 1024 / MB:.1f} GB"
