"""A full disk: recognised whatever layer reports it, and logged once per episode.

A full disk is not a bug in the code that happened to write. SQLite says "database or disk
is full", PostgreSQL raises SQLSTATE 53100, the filesystem broker gets ``ENOSPC``; each
arrives wrapped in Django's or kombu's own exception. While the disk is full every poll
fails the same way, so each process logs the start of an episode once and its end once
(``DiskFullEpisode``), never once per poll. No Django import here: the broker transport
and the Celery app use this module before (and outside) any Django app code.
"""

from __future__ import annotations

import errno
import logging
import threading
import time

log = logging.getLogger(__name__)

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
SQLITE_FULL = 13
POSTGRES_DISK_FULL = "53100"
SQLITE_FULL_MESSAGE = "database or disk is full"
# A disk that hovers at the edge fills and frees with every poll; such flaps are not
# logged again until this long after the last logged episode began.
QUIET_S = 300.0


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc``, or anything in its chain of causes, says the disk is full."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in FULL_ERRNOS:
            return True
        if getattr(current, "sqlite_errorcode", None) == SQLITE_FULL:
            return True
        if getattr(current, "sqlstate", None) == POSTGRES_DISK_FULL:
            return True
        if SQLITE_FULL_MESSAGE in str(current):
            return True
        todo.extend(c for c in (current.__cause__, current.__context__) if c is not None)
    return False


class DiskFullEpisode:
    """One process's view of a full disk for one kind of write ("database", "broker").

    ``failed`` at the first failure logs the episode's start; ``succeeded`` at the next
    good write logs its end with how long it lasted and how many writes failed. Both are
    cheap when nothing changes (``succeeded`` takes no lock while no episode is open).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0
        self._logged = False
        self._last_logged_at: float | None = None

    @property
    def active(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException, where: str) -> bool:
        """Count a write that failed on a full disk; True if this one opened the episode."""
        now = time.monotonic()
        with self._lock:
            self._failures += 1
            if self._since is not None:
                return False
            self._since, self._failures = now, 1
            quiet = self._last_logged_at is not None and now - self._last_logged_at < QUIET_S
            self._logged = not quiet
            if self._logged:
                self._last_logged_at = now
        if self._logged:
            log.error("%s writes fail: the disk is full (%s, in %s). Nothing is stored until space is "
                      "freed; polling goes on, and writing resumes by itself.", self.what, exc, where)
        return True

    def succeeded(self) -> None:
        """A write went through: close the episode, if one is open."""
        if self._since is None:
            return
        with self._lock:
            if self._since is None:
                return
            lasted, failures, logged = time.monotonic() - self._since, self._failures, self._logged
            self._since, self._failures = None, 0
        if logged:
            log.warning("%s writes resumed after %.0f s of full disk (%d writes failed meanwhile)",
                        self.what, lasted, failures)


DATABASE = DiskFullEpisode("database")
BROKER = DiskFullEpisode("broker")


def samples_stored(sender: object, **kwargs: object) -> None:
    """``samples_written`` receiver: a poll's rows are committed, so the database takes writes."""
    DATABASE.succeeded()
