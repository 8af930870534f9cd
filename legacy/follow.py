"""Rolling up imported days beside the sample copy, in a thread of its own.

A day's rollups need every sample around it, of every table; the copy takes the tables side by
side in time, so a day is ready once the least advanced table's copy has passed its end (with a
margin for the neighbours the rollups read across it). The copy tells the
follower how far it has got after each batch (:meth:`Follower.advance`); the follower rolls up
each day as soon as it is ready, while the copy goes on. SQLite does the work of both with the
interpreter released, so on a machine with two cores the rollups cost little more than the
copy's own time. The two take turns at SQLite's write lock (:class:`legacy.writer.WriteTurns`),
so polling waits no longer than beside the copy alone.

The original wrote its rows in time order, but nothing guarantees it. Before a batch is
written, the copy shows the follower the batch's first timestamp (:meth:`Follower.unless_late`),
and no day is handed out until the batch is written: a row that falls where a day already
handed to the rollups reads means that day may be incomplete. The follower is then stopped,
the recorded progress of the rollups is taken back to before that day (before the batch is
written, so a kill cannot leave a day counted as rolled up without all its samples), and the
remaining days are rolled up after the copy, as without a follower. Every day recorded as
rolled up was computed from all of its samples.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from aggregation.buckets import SLOT_S, local_date, local_day
from aggregation.sources import MAX_GAP_LIMIT_S, RECORDED_GAP_LIMIT_S

# How far past a day's end the copy must be before the day is rolled up: the rollups read two
# of the longest gaps they bridge beyond the day (a glitch check, the interval of the first sample
# after it), and a slot more.
MARGIN = timedelta(seconds=2 * max(MAX_GAP_LIMIT_S, RECORDED_GAP_LIMIT_S) + 1 + SLOT_S)
NEVER = datetime.min.replace(tzinfo=UTC)
# While the follower runs: how soon a thread back from SQLite gets the interpreter from the other
# one (Python's default is 5 ms; the copy comes back from SQLite several times per batch, and
# would wait that long each time the rollups are in Python code).
SWITCH_S = 0.001
Roll = Callable[[str, Iterator[date]], None]


def parse_ts(text: str) -> datetime:
    """A ``ts`` in solarmon's text form on SQLite (UTC) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Follower:
    """Rolls up the days of ``plan`` (per system, its days in order) as the copy passes them.

    ``roll(system_id, days)`` rolls up the days the iterator gives, in this thread; the iterator
    waits for each day to be ready and ends when the follower is stopped. ``rolled`` is the
    last day recorded as rolled up per system, ``released`` the instant before which no row may
    arrive any more (the rollups of a day handed out read up to it).
    """

    def __init__(self, plan: dict[str, list[date]], zones: dict[str, ZoneInfo], roll: Roll,
                 pragmas: Callable[[], AbstractContextManager[None]], rolled: dict[str, date]) -> None:
        self._plan, self._zones, self._roll, self._pragmas = plan, zones, roll, pragmas
        self._cond = threading.Condition()
        self._frontier = NEVER  # every row before it is copied (while no table is left behind)
        self._copied = False
        self._stopped = False
        self.error: BaseException | None = None
        self.seconds = 0.0  # the follower's time rolling up (not waiting for the copy)
        self._waited = 0.0
        # Days rolled up by an earlier run read rows up to here: a row before it is late too.
        self._released = max((local_day(day, zones[system]).end_utc + MARGIN for system, day in rolled.items()
                              if system in zones), default=NEVER)
        self._thread = threading.Thread(target=self._run, name="legacy-rollups", daemon=True)
        self._switch = sys.getswitchinterval()

    def start(self) -> None:
        sys.setswitchinterval(min(self._switch, SWITCH_S))
        self._thread.start()

    def advance(self, until: datetime) -> None:
        """Every row before ``until`` is copied, of every table."""
        with self._cond:
            if until > self._frontier:
                self._frontier = until
                self._cond.notify_all()

    def copied(self) -> None:
        """The copy is complete: every remaining day is ready."""
        with self._cond:
            self._copied = True
            self._cond.notify_all()

    @contextmanager
    def unless_late(self, first: datetime) -> Iterator[bool]:
        """Whether a row at ``first`` falls where a day handed to the rollups reads. When it does
        not, no day is handed out until the context ends: a batch checked here and written inside
        it is in every day handed out after it."""
        with self._cond:
            late = not self._stopped and first < self._released
            if not late:
                yield False
                return
        yield True

    def stop(self) -> None:
        """Stop after the day being rolled up, and wait for it."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        sys.setswitchinterval(self._switch)

    def finish(self) -> None:
        """Wait for the follower to roll up what it can (after :meth:`copied`); re-raise its error."""
        if self._thread.is_alive():
            self._thread.join()
        if self.error is not None:
            raise self.error

    @property
    def stopped(self) -> bool:
        return self._stopped

    def _ready(self, system_id: str, days: list[date]) -> Iterator[date]:
        zone = self._zones[system_id]
        for day in days:
            reads_until = local_day(day, zone).end_utc + MARGIN
            waiting = time.monotonic()
            with self._cond:
                while not (self._stopped or self._copied or self._frontier >= reads_until):
                    self._cond.wait()
            self._waited += time.monotonic() - waiting
            with self._cond:
                if self._stopped:
                    return
                self._released = max(self._released, reads_until)
            yield day

    def _run(self) -> None:
        began = time.monotonic()
        try:
            with self._pragmas():
                for system_id, days in self._plan.items():
                    self._roll(system_id, self._ready(system_id, days))
                    if self._stopped:
                        break
        except BaseException as exc:  # re-raised by finish() in the importing thread
            self.error = exc
        finally:
            self.seconds = time.monotonic() - began - self._waited
            connection.close()  # this thread's own connection


def day_before(first: datetime, zone: ZoneInfo) -> date:
    """The last local day that a row at ``first`` cannot change."""
    return local_date(first - MARGIN, zone) - timedelta(days=1)
