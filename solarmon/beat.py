"""The one beat: a scheduler that holds a lock for its lifetime and writes a heartbeat.

Two beats would queue every poll twice, so a second beat must not start, whoever starts
it. The lock is held by the process itself and released by the kernel (file lock) or the
server (PostgreSQL advisory lock) when that process dies, however it dies, so a killed
beat never leaves a stale lock behind and a new one can take over at once.

SQLite installations run on one machine: a file lock in the data directory covers every
process on it. With PostgreSQL, beats on different hosts share the database, so the lock
is a session advisory lock on a connection of its own.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler

from solarmon.health import BEAT, beat

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 15.0
RETRY_S = 1.0
LOCK_NAME = "solarmon-beat"


class BeatAlreadyRunning(SystemExit):
    """Another beat holds the lock; this one exits (its supervisor retries later)."""


class BeatLock:
    """An exclusive lock held until this process exits (or :meth:`release`)."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self._pg: Any = None

    def acquire(self) -> bool:
        if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
            return self._acquire_pg()
        return self._acquire_file()

    def _acquire_file(self) -> bool:
        handle = open(settings.DATA_DIR / "beat.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _acquire_pg(self) -> bool:
        import psycopg

        db = settings.DATABASES["default"]
        conn = psycopg.connect(dbname=db["NAME"], user=db.get("USER") or None,
                               password=db.get("PASSWORD") or None, host=db.get("HOST") or None,
                               port=db.get("PORT") or None, autocommit=True)
        key = int.from_bytes(hashlib.sha1(LOCK_NAME.encode()).digest()[:8], "big", signed=True)
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if not (row and row[0]):
            conn.close()
            return False
        self._pg = conn
        return True

    def held(self) -> bool:
        """Still ours? (An advisory lock dies with its connection.)"""
        if self._file is not None:
            return True
        if self._pg is None:
            return False
        try:
            self._pg.execute("SELECT 1")
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._pg is not None:
            self._pg.close()
            self._pg = None


# Celery builds the scheduler more than once in one beat process (for the banner, then to
# run), so the lock belongs to the process, not to a scheduler instance.
_PROCESS_LOCK = BeatLock()


def hold_beat_lock() -> BeatLock:
    """This process's beat lock, taken on first call; :class:`BeatAlreadyRunning` if another has it."""
    if not _PROCESS_LOCK.held():
        if not _PROCESS_LOCK.acquire():
            log.error("another beat is running (it holds the beat lock): this one exits")
            raise BeatAlreadyRunning(1)
        log.info("beat lock taken: this is the one beat")
    return _PROCESS_LOCK


class SingleBeatScheduler(DatabaseScheduler):
    """django-celery-beat's scheduler, run by at most one beat process at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lock = hold_beat_lock()
        self._last_heartbeat = 0.0
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        now = time.monotonic()
        if now - self._last_heartbeat >= HEARTBEAT_EVERY_S:
            if not self.lock.held():
                log.error("the beat lock was lost (database connection closed): beat exits")
                raise BeatAlreadyRunning(1)
            try:
                close_old_connections()
                beat(BEAT)
                self._last_heartbeat = now
            except Exception:  # the schedule must go on while the database is busy
                log.exception("could not write the beat heartbeat")
        try:
            result: float = super().tick(*args, **kwargs)
        except DatabaseError as exc:
            # A busy or briefly unavailable database (SQLite under heavy write contention says
            # "locking protocol") must not end beat: nothing would be dispatched any more.
            log.warning("beat could not read its schedule, trying again in %.0f s: %s", RETRY_S, exc)
            close_old_connections()
            return RETRY_S
        return min(result, HEARTBEAT_EVERY_S)

