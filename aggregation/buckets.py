"""Local hours and days in a system's timezone, and the UTC 5-minute slots they are made of.

The database groups samples into UTC 5-minute *slots* (``floor(epoch / 300)``), the grain of the
5-minute tiers. Every local hour boundary of every current IANA zone falls on that grid (offsets
are whole quarter hours), so each local hour is an exact union of slots, whatever the DST rules:
a DST day simply has 276 or 300 slots. Python then labels slots with (local date, local hour,
fold); no SQL dialect needs to know about time zones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

SLOT_S = 300
# The grain of the daily peaks of summed power (arrays and systems): a quarter hour of slots.
QUARTER_SLOTS = 3


@dataclass(frozen=True)
class Hour:
    """A local hour. ``fold`` is 1 for the second occurrence of a repeated (autumn) hour."""

    date: date
    hour_start: int
    fold: int
    start_utc: datetime
    end_utc: datetime

    @property
    def seconds(self) -> float:
        return (self.end_utc - self.start_utc).total_seconds()


@dataclass(frozen=True)
class Day:
    """A local day: its UTC bounds and its hours (23, 24 or 25 of them)."""

    date: date
    start_utc: datetime
    end_utc: datetime
    hours: tuple[Hour, ...]

    @property
    def seconds(self) -> float:
        return (self.end_utc - self.start_utc).total_seconds()

    @property
    def slots(self) -> range:
        """The UTC 5-minute slots of the day."""
        return range(slot_of(self.start_utc), slot_of(self.end_utc))


def epoch(ts: datetime) -> float:
    return ts.timestamp()


def slot_of(ts: datetime) -> int:
    return int(epoch(ts) // SLOT_S)


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * SLOT_S, UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant the local day starts (the first instant after a skipped midnight)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@lru_cache(maxsize=128)
def local_day(day: date, tz: ZoneInfo) -> Day:
    """The local day ``day`` in ``tz``, with its hours keyed (date, hour_start, fold).

    Cached (a ``Day`` is immutable): building one walks its 288 slots through the zone, and a
    periodic run asks for the same day a few times every quarter hour.
    """
    start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
    if epoch(start) % SLOT_S or epoch(end) % SLOT_S:
        raise ValueError(f"{tz.key}: local midnight of {day} is not on a quarter hour of UTC")
    hours: dict[tuple[int, int], list[datetime]] = {}
    ts = start
    while ts < end:
        local = ts.astimezone(tz)
        hours.setdefault((local.hour, local.fold), []).append(ts)
        ts += timedelta(seconds=SLOT_S)
    built = [Hour(day, hour, fold, min(slots), max(slots) + timedelta(seconds=SLOT_S))
             for (hour, fold), slots in hours.items()]
    return Day(day, start, end, tuple(sorted(built, key=lambda h: h.start_utc)))


def hour_of_slots(day: Day) -> dict[int, Hour]:
    """Each slot of the day → the local hour it belongs to."""
    out: dict[int, Hour] = {}
    for hour in day.hours:
        for slot in range(slot_of(hour.start_utc), slot_of(hour.end_utc)):
            out[slot] = hour
    return out


def from_db(value: datetime | str) -> datetime:
    """A ``ts`` as a raw query returns it (SQLite: naive UTC, or text; PostgreSQL: aware) → aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local_date(ts: datetime, tz: ZoneInfo) -> date:
    return ts.astimezone(tz).date()


def days_between(first: date, last: date) -> Iterator[date]:
    """Every date from ``first`` to ``last`` inclusive."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
