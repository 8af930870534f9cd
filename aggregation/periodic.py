"""The periodic rollup: only what arrived since the last run, so its cost does not grow with the day.

Every system has a watermark per device (:class:`aggregation.models.RollupWatermark`): the end of
the last 5-minute slot whose tiers and rollups are closed. A run

1. rolls up again the slots around late samples (days marked dirty), then
2. closes the slots from the watermark up to ``now`` less a lag (``SOLARMON_ROLLUP_SETTLE_S``
   plus two of the devices' gaps, so that a slot's last samples have the neighbours that decide
   how they are booked; with ``SOLARMON_ROLLUP_WHOLE_HOURS``, whole local hours only): it reads
   the raw samples of those slots only, writes their tiers, rebuilds from the tiers the hourly
   rows of the hours it touched and, once an hour has closed, the day's daily rows from its
   hourly rows and a few grouped queries over its tiers.

A device without a watermark (a new device, a database from before watermarks) starts at the
local midnight before yesterday's, so its current and previous days are complete. Work is done a
local day per transaction. The same function serves beat (:func:`aggregation.tasks.rollup_recent`)
and ``manage.py rollup --recent``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from aggregation import figures, tiers
from aggregation import models as m
from aggregation.buckets import (
    SLOT_S,
    Day,
    Hour,
    from_db,
    local_date,
    local_day,
    local_midnight,
    slot_of,
    slot_start,
)
from aggregation.daydata import KINDS, DayData, TierDaySummary, log_glitches, raw_slots
from aggregation.levels import LEVEL_KEYS, build_daily, build_hourly, hours_by_level
from aggregation.rollups import rollup_day, upsert_rows, write_energy_tiers
from aggregation.signals import rollup_written
from aggregation.sql import Device
from aggregation.topology import Topology
from catalog import models as catalog
from telemetry.choices import DeviceKind

# Raw tables read by the energy path, per DayData kind.
RAW_TABLE = {"inv": "energy_samples", "meter": "meter_samples", "pack": "battery_bank_samples"}


@dataclass
class RunReport:
    """What one periodic run read and wrote."""

    systems: int = 0
    slots: int = 0
    dirty_days: int = 0
    read: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"{self.systems} system(s): {self.slots} 5-minute slot(s) closed, "
               f"{self.dirty_days} day(s) with late samples rolled up again, in {self.seconds:.2f} s"]
        out += [f"read  {table:<28} {count:>9} samples" for table, count in sorted(self.read.items())]
        out += [f"wrote {table:<28} {count:>9} rows" for table, count in sorted(self.written.items())]
        return out


def lag(topo: Topology) -> timedelta:
    """How long after its end a slot waits before it is closed."""
    gaps = [d.max_gap_s for d in (*topo.inverter_limits, *topo.meter_limits, *topo.pack_limits)]
    return timedelta(seconds=settings.SOLARMON_ROLLUP_SETTLE_S + 2 * max(gaps, default=0.0))


def closing_point(topo: Topology, now: datetime) -> datetime:
    """The end of the last slot a run at ``now`` closes; with ``SOLARMON_ROLLUP_WHOLE_HOURS``, the
    end of the last local hour whose slots are all due (one run in four then does the work)."""
    point = slot_start(slot_of(now - lag(topo)))
    return whole_hours_until(topo, point) if settings.SOLARMON_ROLLUP_WHOLE_HOURS else point


def whole_hours_until(topo: Topology, point: datetime) -> datetime:
    """The end of the last local hour that ends at or before ``point``."""
    day = local_day(local_date(point, topo.tz), topo.tz)
    return max((h.end_utc for h in day.hours if h.end_utc <= point), default=day.start_utc)


def devices(topo: Topology) -> list[tuple[str, str, float]]:
    """(device type, id, gap limit) of every device the rollups book."""
    kinds: list[tuple[str, list[Device]]] = [(DeviceKind.INVERTER, topo.inverter_limits),
                                             (DeviceKind.METER, topo.meter_limits),
                                             (DeviceKind.BATTERY_PACK, topo.pack_limits)]
    return [(str(kind), d.device_id, d.max_gap_s) for kind, limits in kinds for d in limits]


Marks = dict[tuple[str, str], tuple[datetime, float]]


@dataclass(frozen=True)
class Dirty:
    """A day with late samples (``aggregation.models.DirtyDay``); no range: the whole day."""

    pk: int
    date: date
    first_ts: datetime | None
    last_ts: datetime | None


# The system's watermarks and days with late samples: all a run with nothing new reads.
_BOOKKEEPING = (
    f"SELECT 0, device_type, device_id, closed_until, max_gap_s, NULL, NULL, NULL "
    f"FROM {m.RollupWatermark._meta.db_table} WHERE system_id = %s UNION ALL "
    f"SELECT 1, NULL, NULL, first_ts, NULL, id, date, last_ts "
    f"FROM {m.DirtyDay._meta.db_table} WHERE system_id = %s")


def bookkeeping(topo: Topology) -> tuple[Marks, list[Dirty]]:
    """(device type, id) → (closed until, the gap limit it was closed with), and the dirty days by
    date, in one plain query."""
    with connection.cursor() as cursor:
        cursor.execute(_BOOKKEEPING, [topo.system.pk, topo.system.pk])
        found = cursor.fetchall()
    marks: Marks = {}
    dirty = []
    for which, kind, dev, ts, gap, pk, on, last in found:
        if which == 0:
            marks[(kind, dev)] = (from_db(ts), float(gap))
        else:
            dirty.append(Dirty(int(pk), on if isinstance(on, date) else date.fromisoformat(on),
                               from_db(ts) if ts is not None else None,
                               from_db(last) if last is not None else None))
    return marks, sorted(dirty, key=lambda d: d.date)


def watermarks(topo: Topology) -> Marks:
    """(device type, id) → (closed until, the gap limit it was closed with)."""
    return bookkeeping(topo)[0]


def first_open(topo: Topology, now: datetime, marks: Marks) -> datetime:
    """Where the next run starts: the earliest watermark, or the midnight before yesterday's."""
    fallback = local_midnight(local_date(now, topo.tz) - timedelta(days=1), topo.tz)
    starts = [marks[(kind, dev)][0] if (kind, dev) in marks else fallback for kind, dev, _ in devices(topo)]
    return min(starts, default=fallback)


def _days(start: datetime, end: datetime, topo: Topology) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut at local midnights."""
    lo = start
    while lo < end:
        hi = min(end, local_midnight(local_date(lo, topo.tz) + timedelta(days=1), topo.tz))
        yield lo, hi
        lo = hi


def _touched_days(start: datetime, end: datetime, topo: Topology) -> list[date]:
    first, last = local_date(start, topo.tz), local_date(end - timedelta(microseconds=1), topo.tz)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


_HOUR_COLUMNS = ["hour_start", "fold", "sample_count", "source", "coverage", *figures.ENERGY_COLUMNS]


@lru_cache(maxsize=8)
def _stored_hours_sql(vendor: str) -> str:
    """The day's hourly rows of the three levels, in one plain statement (no ORM query to build)."""
    quote = connection.ops.quote_name
    parts = []
    for n, (model, key) in enumerate(LEVEL_KEYS.items()):
        grid = "NULL" if model is m.InverterHourlyEnergy else "grid_source"
        parts.append(f"SELECT {n}, {key}, {', '.join(quote(c) for c in _HOUR_COLUMNS)}, {grid} "
                     f"FROM {model._meta.db_table} WHERE system_id = %s AND {quote('date')} = %s")
    return " UNION ALL ".join(parts)


def stored_hours(topo: Topology, day: Day) -> dict[type[models.Model], list[dict[str, Any]]]:
    """The day's stored hourly rows of the inverters, arrays and system, as the daily rows need them."""
    levels = list(LEVEL_KEYS.items())
    on = connection.ops.adapt_datefield_value(day.date)
    with connection.cursor() as cursor:
        cursor.execute(_stored_hours_sql(connection.vendor), [topo.system.pk, on] * len(levels))
        found = cursor.fetchall()
    out: dict[type[models.Model], list[dict[str, Any]]] = {model: [] for model, _ in levels}
    for n, key_value, *values in found:
        model, key = levels[int(n)]
        row = dict(zip(_HOUR_COLUMNS, values[:-1], strict=True))
        row[key] = key_value
        if model is not m.InverterHourlyEnergy:
            row["grid_source"] = values[-1]
        out[model].append(row)
    return out


def roll_day(topo: Topology, day: Day, start: datetime, end: datetime, *, daily: bool | None = None
             ) -> tuple[Counter[str], dict[tuple[str, str], int] | None]:
    """Rebuild, from the tiers, the hourly rows of ``day``'s hours that overlap [start, end), then
    its daily rows from its stored hourly rows and its aggregates (see aggregation.levels).

    By default the daily rows are rebuilt when the range completes one of the day's hours: once
    an hour, and at the end of the day (no reader shows today's as stored: the readers build the
    open days on read, see aggregation.selectors.open_days).

    Returns the rows written, and the day's counter glitches so far when the daily rows were
    rebuilt (the query behind them counts them; None otherwise).
    """
    touched = [h for h in day.hours if h.start_utc < end and h.end_utc > start]
    written: Counter[str] = Counter()
    if touched:
        written += upsert_rows(build_hourly(topo, TierHours(topo, day, touched)))
    if daily is None:
        daily = any(start < h.end_utc <= end for h in day.hours)
    if not daily:
        return written, None
    summary = TierDaySummary(topo, day)
    written += upsert_rows(build_daily(topo, summary, hours_by_level(day, stored_hours(topo, day))))
    return written, summary.glitches


class TierHours(DayData):
    """The aggregates of some consecutive hours of a day per kind, device and hour, merged from
    the tiers in the database (one grouped query for every kind): what the hourly rows are built from."""

    def __init__(self, topo: Topology, day: Day, hours: list[Hour]) -> None:
        self.day = day
        spans = [(h.start_utc, h.end_utc) for h in hours]
        ids = {"inv": [i.pk for i in topo.inverters], "meter": [mt.pk for mt in topo.meters],
               "pack": [p.pk for p in topo.packs]}
        found, _ = tiers.kind_hour_aggregates(ids, spans)
        self.hours = {kind: {dev: {hours[n]: agg for n, agg in by_hour.items()}
                             for dev, by_hour in found[kind].items()}
                      for kind in KINDS}


def roll_range(topo: Topology, start: datetime, end: datetime, report: RunReport, *,
               daily: bool | None = None,
               fresh: bool = False) -> None:
    """Close the slots of [start, end): raw samples → tiers → the touched hours and the days' rows.

    Both ends are taken to whole slots (a tier row stands for a whole slot). ``fresh``: slots
    closed for the first time, with no tier rows to replace.
    """
    start, end = slot_start(slot_of(start)), slot_start(slot_of(end))
    if start >= end:
        return
    written, read, band = tiers.close_stat_tiers(topo, start, end, fresh=fresh)
    slots = raw_slots(topo, start, end, cell_band=band)
    found = any(log_glitches(slots).values())
    written += write_energy_tiers(topo, slots, start, end, fresh=fresh)
    for kind, aggs in slots.items():
        read[RAW_TABLE[kind]] += sum(int(a.get("n") or 0) for a in aggs.values())
    report.read += read
    for day in _touched_days(start, end, topo):
        local = local_day(day, topo.tz)
        rows, glitches = roll_day(topo, local, start, end, daily=daily)
        written += rows
        if found or any(start < h.end_utc <= end for h in local.hours):
            _report_glitches(topo, local, glitches)
    report.written += written
    report.slots += slot_of(end) - slot_of(start)


def _report_glitches(topo: Topology, day: Day, glitches: dict[tuple[str, str], int] | None = None) -> None:
    """Tell the alert rules the day's counter glitches so far (the tiers keep them per slot): when
    this run found some, and once an hour so a rule sees its count settle. ``glitches``: already
    counted with the day's daily rows (else read from the tiers)."""
    if glitches is None:
        glitches = tiers.glitches_between(topo, day.start_utc, day.end_utc)
    system_id = topo.system.pk
    transaction.on_commit(lambda: rollup_written.send(sender=DayData, system_id=system_id, day=day.date,
                                                      glitches=glitches))


_ADVANCE = (f"UPDATE {m.RollupWatermark._meta.db_table} SET closed_until = %s, updated_at = %s "
            "WHERE system_id = %s")


def _save_watermarks(topo: Topology, closed: datetime, marks: Marks) -> None:
    if all(marks.get((kind, dev), (None, None))[1] == gap for kind, dev, gap in devices(topo)):
        # Every device has its mark, with its gap limit: one UPDATE.
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.execute(_ADVANCE, [adapt(closed), adapt(timezone.now()), topo.system.pk])
        return
    rows = [m.RollupWatermark(device_type=kind, device_id=dev, system=topo.system, closed_until=closed,
                              max_gap_s=gap, updated_at=timezone.now()) for kind, dev, gap in devices(topo)]
    m.RollupWatermark.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["device_type", "device_id"],
        update_fields=["system", "closed_until", "max_gap_s", "updated_at"])


def roll_forward(topo: Topology, now: datetime, report: RunReport, marks: Marks) -> None:
    """Close every slot of the system that is due at ``now``."""
    closed = closing_point(topo, now)
    start = first_open(topo, now, marks)
    for lo, hi in _days(start, closed, topo):
        with transaction.atomic():
            roll_range(topo, lo, hi, report, fresh=True)
            _save_watermarks(topo, hi, marks)
            marks = {(kind, dev): (hi, gap) for kind, dev, gap in devices(topo)}


def process_dirty(topo: Topology, report: RunReport, marks: Marks, dirty: list[Dirty]) -> None:
    """Roll up again the slots around the late samples of every dirty day of the system."""
    closed = min((c for c, _ in marks.values()), default=None)
    reach = timedelta(seconds=2 * max((g for _, _, g in devices(topo)), default=0.0) + SLOT_S)
    for mark in dirty:
        began = timezone.now()
        with transaction.atomic():
            if mark.first_ts is None or mark.last_ts is None or closed is None:
                report.written += rollup_day(topo.system.pk, mark.date)
            else:
                start = slot_start(slot_of(mark.first_ts - reach))
                end = min(closed, slot_start(slot_of(mark.last_ts + reach) + 1))
                for lo, hi in _days(start, end, topo):
                    roll_range(topo, lo, hi, report, daily=True)
            m.DirtyDay.objects.filter(models.Q(pk=mark.pk) & models.Q(marked_at__lte=began)).delete()
        report.dirty_days += 1


# Every system's id, in one plain query (its row is read only when its catalog changed).
_SYSTEMS = (f"SELECT {catalog.System._meta.pk.column} FROM {catalog.System._meta.db_table} "
            f"ORDER BY {catalog.System._meta.pk.column}")


def rollup_recent(now: datetime | None = None) -> RunReport:
    """The periodic rollup of every system: late samples, then the slots that are due."""
    now = now or timezone.now()
    began = time.perf_counter()
    report = RunReport()
    with connection.cursor() as cursor:
        cursor.execute(_SYSTEMS)
        systems = [pk for (pk,) in cursor.fetchall()]
    for system_id in systems:
        topo = Topology.current_of(system_id)
        if topo is None:  # deleted since
            continue
        marks, dirty = bookkeeping(topo)
        process_dirty(topo, report, marks, dirty)
        roll_forward(topo, now, report, marks)
        report.systems += 1
    report.seconds = time.perf_counter() - began
    return report


def prune(now: datetime | None = None) -> dict[str, int]:
    """The nightly retention job (see aggregation.retention)."""
    from aggregation.retention import prune_raw_samples

    return prune_raw_samples(now=now)


# What each aggregation beat task runs, taking the time as ``now`` (the tasks pass the clock's;
# bench/yearsim.py passes simulated time).
SERVICES: dict[str, Callable[[datetime], Any]] = {
    "aggregation.tasks.rollup_recent": rollup_recent,
    "aggregation.tasks.rollup_closed_days": rollup_recent,
    "aggregation.tasks.prune_raw_samples": prune,
}
