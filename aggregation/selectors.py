"""Reads of energy: today's figures of a system or a device, live to its last poll.

``today_energy`` is what the overview, the API and anything that publishes energy (MQTT) call.
The closed part of the day comes from the rollups: the stored hourly rows of the hours that are
fully closed. The open hour(s) are built on read with the rollups' own code, from the 5-minute
tiers already closed and the raw samples after them, each device's newest sample left out: its
booking depends on the sample after it, so leaving it out makes the figure final. The figure is
therefore one poll interval behind, and the next periodic rollup stores the same numbers, so it
never goes down during the day (as long as samples arrive in order; a late sample that reveals an
earlier reading as a glitch corrects the figure).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, models
from django.db.models import Sum
from django.utils import timezone

from aggregation import models as m
from aggregation import sources
from aggregation.buckets import QUARTER_SLOTS, Day, from_db, local_date, local_day, slot_of, slot_start
from aggregation.daydata import KINDS, DayData, SlotAggs, TierDaySummary, raw_slots, tier_slots
from aggregation.levels import LEVEL_KEYS, build_daily, build_hourly, hours_by_level
from aggregation.periodic import stored_hours
from aggregation.sql import Device
from aggregation.stats import Agg, merge
from aggregation.topology import Topology
from catalog import models as catalog

Target = catalog.System | catalog.InverterArray | catalog.Inverter | catalog.BatteryPack | catalog.Meter
FLOWS = ("pv", "load", "import", "export", "charge", "discharge")
_LEVEL_COLUMNS = {"pv": "solar_energy_kwh", "load": "load_energy_kwh", "import": "grid_import_energy_kwh",
                  "export": "grid_export_energy_kwh", "charge": "battery_charge_energy_kwh",
                  "discharge": "battery_discharge_energy_kwh"}


@dataclass(frozen=True)
class Level:
    """Where a kind of target's hourly rows are, and which flows they hold."""

    hourly: type[models.Model]
    key: str
    columns: dict[str, str]


LEVELS: dict[type[models.Model], Level] = {
    catalog.System: Level(m.SystemHourlyEnergy, "system_id", _LEVEL_COLUMNS),
    catalog.InverterArray: Level(m.ArrayHourlyEnergy, "array_id", _LEVEL_COLUMNS),
    catalog.Inverter: Level(m.InverterHourlyEnergy, "inverter_id", _LEVEL_COLUMNS),
    catalog.BatteryPack: Level(m.BatteryBankHourly, "pack_id", {"charge": "charge_energy_kwh",
                                                                 "discharge": "discharge_energy_kwh"}),
    catalog.Meter: Level(m.MeterHourlyEnergy, "meter_id", {"import": "import_energy_kwh",
                                                           "export": "export_energy_kwh"}),
}
RAW = {"inv": ("energy_samples", "inverter_id"), "meter": ("meter_samples", "meter_id"),
       "pack": ("battery_bank_samples", "pack_id")}


def _system_of(target: Target) -> catalog.System:
    return target if isinstance(target, catalog.System) else target.system


def _closed_until(topo: Topology, day: Day) -> datetime:
    """Where the closed part of the day ends: the earliest watermark (the day's start without any)."""
    marks = m.RollupWatermark.objects.filter(system=topo.system).values_list("closed_until", flat=True)
    closed = min(marks, default=day.start_utc)
    return min(max(closed, day.start_utc), day.end_utc)


def _open_from(day: Day, closed: datetime) -> datetime:
    """The start of the local hour holding ``closed``: from there on hours are built on read."""
    for hour in day.hours:
        if hour.start_utc <= closed < hour.end_utc:
            return hour.start_utc
    return day.end_utc


def newest_samples(topo: Topology, since: datetime) -> dict[str, datetime]:
    """Each device's newest sample since ``since`` (through the (ts, device) keys)."""
    ids = {"inv": [i.pk for i in topo.inverters], "meter": [mt.pk for mt in topo.meters],
           "pack": [p.pk for p in topo.packs]}
    out: dict[str, datetime] = {}
    with connection.cursor() as cursor:
        for kind, (table, column) in RAW.items():
            if not ids[kind]:
                continue
            marks = ", ".join(["%s"] * len(ids[kind]))
            cursor.execute(f"SELECT {column}, MAX(ts) FROM {table} WHERE ts >= %s AND {column} IN ({marks}) "
                           f"GROUP BY {column}",
                           [connection.ops.adapt_datetimefield_value(since), *ids[kind]])
            out.update({dev: from_db(ts) for dev, ts in cursor.fetchall()})
    return out


def _without_newest(limits: list[Device], newest: dict[str, datetime]) -> list[Device]:
    return [replace(d, book_before=newest[d.device_id].timestamp()) if d.device_id in newest else d
            for d in limits]


def live_slots(topo: Topology, start: datetime, now: datetime) -> dict[str, SlotAggs]:
    """Slot aggregates from ``start`` on, from the raw samples, each device's newest sample unbooked."""
    margin = timedelta(seconds=2 * sources.MAX_GAP_LIMIT_S)
    newest = newest_samples(topo, start - margin)
    live = replace(topo, inverter_limits=_without_newest(topo.inverter_limits, newest),
                   meter_limits=_without_newest(topo.meter_limits, newest),
                   pack_limits=_without_newest(topo.pack_limits, newest))
    return raw_slots(live, start, slot_start(slot_of(now) + 1))


def _open_slots(topo: Topology, day: Day, now: datetime
                ) -> tuple[datetime, dict[str, SlotAggs], dict[str, SlotAggs]]:
    """Where ``day``'s open hours start, and their slots: those the tiers have closed, and the live
    ones after (from the earliest watermark on). Nothing when the day is closed."""
    closed = _closed_until(topo, day)
    opened = _open_from(day, closed)
    if opened >= day.end_utc:
        return opened, {}, {}
    return opened, tier_slots(topo, opened, closed), live_slots(topo, closed, min(now, day.end_utc))


def _hours_of(topo: Topology, day: Day, closed: dict[str, SlotAggs], live: dict[str, SlotAggs]
              ) -> dict[type[models.Model], list[Any]]:
    slots = {kind: {**closed.get(kind, {}), **live.get(kind, {})} for kind in KINDS}
    return build_hourly(topo, DayData(day, slots))


def open_hours(topo: Topology, day: Day, now: datetime
               ) -> tuple[datetime, dict[type[models.Model], list[Any]]]:
    """The hours of ``day`` not closed yet, built from the closed tiers and the live samples."""
    opened, closed, live = _open_slots(topo, day, now)
    return opened, (_hours_of(topo, day, closed, live) if opened < day.end_utc else {})


class LiveDaySummary(TierDaySummary):
    """A day's per-device aggregates and inverter quarter hours so far: the tiers' (the closed
    part) merged with the live slots after them. The packs' cell band of the live slots is not
    known yet (it comes from the cell tiers), so the day's cell extremes are those closed."""

    def __init__(self, topo: Topology, day: Day, live: dict[str, SlotAggs]) -> None:
        super().__init__(topo, day)
        first = day.slots.start
        for kind in KINDS:
            by_dev: dict[str, list[Agg]] = {}
            for (dev, slot), agg in live.get(kind, {}).items():
                by_dev.setdefault(dev, []).append(agg)
                if kind == "inv":
                    key = (dev, (slot - first) // QUARTER_SLOTS)
                    self._quarters[key] = merge([self._quarters.get(key, {}), agg])
            days = self.days.setdefault(kind, {})
            for dev, aggs in by_dev.items():
                days[dev] = merge([days.get(dev, {}), *aggs])


@dataclass(frozen=True)
class OpenDays:
    """The daily rows of the days an open span touches (yesterday's too just after midnight), as
    the periodic rollup will store them once it has closed them; built on read from the stored
    hours before the open span, the open hours and the day's aggregates so far."""

    first: date | None  # the earliest local date built; None when every day is closed
    rows: dict[type[models.Model], list[Any]]

    def rows_of(self, model: type[models.Model]) -> list[dict[str, Any]]:
        return self.rows.get(model, [])


def _day_rows(topo: Topology, day: Day, now: datetime) -> dict[type[models.Model], list[Any]] | None:
    opened, closed, live = _open_slots(topo, day, now)
    if opened >= day.end_utc:
        return None
    built = _hours_of(topo, day, closed, live)
    starts = {(h.hour_start, h.fold): h.start_utc for h in day.hours}
    stored = stored_hours(topo, day)
    hours: dict[type[models.Model], list[Any]] = {}
    for model in LEVEL_KEYS:
        closed_hours = [r for r in stored.get(model, []) if starts[(r["hour_start"], r["fold"])] < opened]
        hours[model] = [*closed_hours, *built.get(model, [])]
    return build_daily(topo, LiveDaySummary(topo, day, live), hours_by_level(day, hours))


def open_days(system: catalog.System, now: datetime | None = None) -> OpenDays:
    """The daily rows of the system's days not closed yet (see :class:`OpenDays`)."""
    now = now or timezone.now()
    topo = Topology.current(system)
    first: date | None = None
    rows: dict[type[models.Model], list[Any]] = {}
    for day in _open_dates(topo, now)[1]:
        built = _day_rows(topo, local_day(day, topo.tz), now)
        if built is not None:
            first = first or day
            for model, found in built.items():
                rows.setdefault(model, []).extend(found)
    return OpenDays(first, rows)


def _open_dates(topo: Topology, now: datetime) -> tuple[datetime, list[date]]:
    """Where the open span starts (no earlier than yesterday's start), and the local dates it touches."""
    today = local_date(now, topo.tz)
    start = max(open_start(topo, now), local_day(today - timedelta(days=1), topo.tz).start_utc)
    first = local_date(start, topo.tz)
    return start, [first + timedelta(days=n) for n in range((today - first).days + 1)]


@dataclass(frozen=True)
class OpenSpan:
    """The hours of a system not closed yet: from ``start`` on, every level's hourly rows as
    :func:`open_hours` builds them on read (the stored rows from ``start`` on are partial or missing,
    depending on how far the periodic rollup closes; these are the same either way)."""

    start: datetime
    day: date  # the local date of ``start``
    rows: dict[type[models.Model], list[Any]]

    def rows_of(self, model: type[models.Model], **scope: Any) -> list[dict[str, Any]]:
        """The built rows of ``model`` whose fields equal ``scope``, in time order."""
        found = [r for r in self.rows.get(model, []) if all(r.get(k) == v for k, v in scope.items())]
        return sorted(found, key=lambda r: r["start_utc"])


def open_start(topo: Topology, now: datetime) -> datetime:
    """Where the system's open span starts at ``now``: the start of the local hour holding the
    earliest watermark (today's start without any). The stored tiers and hourly rows before it are
    final; it is the same whether the periodic rollup closes every due slot or whole hours only."""
    marks = m.RollupWatermark.objects.filter(system=topo.system).values_list("closed_until", flat=True)
    closed = min(min(marks, default=local_day(local_date(now, topo.tz), topo.tz).start_utc), now)
    return _open_from(local_day(local_date(closed, topo.tz), topo.tz), closed)


def open_span(system: catalog.System, now: datetime | None = None) -> OpenSpan:
    """The system's open hours as of ``now``: those of today, and of yesterday while its last hour is
    open (just after midnight). What every reader of recent hourly rows merges over the stored ones.
    (A rollup stalled for longer leaves the days before yesterday as they are stored.)"""
    now = now or timezone.now()
    topo = Topology.current(system)
    start, days = _open_dates(topo, now)
    rows: dict[type[models.Model], list[Any]] = {}
    for day in days:
        for model, built in open_hours(topo, local_day(day, topo.tz), now)[1].items():
            rows.setdefault(model, []).extend(built)
    return OpenSpan(start, days[0], rows)


def today_energy(target: Target, now: datetime | None = None) -> dict[str, Any]:
    """kWh of each flow of ``target`` on its system's local today, through its last poll but one.

    ``hours`` is how many stored hourly rows were summed, ``live_s`` how many seconds at the end
    were computed from raw samples; ``source`` is None when there is nothing for today at all.
    """
    now = now or timezone.now()
    system = _system_of(target)
    topo = Topology.current(system)
    day = local_day(local_date(now, topo.tz), topo.tz)
    level = LEVELS[type(target)]
    opened, rows = open_hours(topo, day, now)
    scope = {level.key: target.pk, "date": day.date}
    stored = level.hourly._default_manager.filter(start_utc__lt=opened, **scope).aggregate(
        hours=models.Count("start_utc"), **{flow: Sum(column) for flow, column in level.columns.items()})
    hours = stored.pop("hours")
    live = [r for r in rows.get(level.hourly, []) if r[level.key] == target.pk]
    values: dict[str, float | None] = {}
    for flow in FLOWS:
        column = level.columns.get(flow)
        found = [stored.get(flow), *(r.get(column) for r in live)] if column else []
        parts = [v for v in found if v is not None]
        values[flow] = round(sum(parts), 3) if parts else None
    return {"date": day.date.isoformat(), "as_of": now, "hours": hours,
            "live_s": max(0.0, (min(now, day.end_utc) - opened).total_seconds()) if live else 0.0,
            "source": _source(hours, live), **values}


def _source(hours: int, live: list[Any]) -> str | None:
    if hours and live:
        return "rollups+live"
    if hours:
        return "rollups"
    return "live" if live else None


def today_date(system: catalog.System, now: datetime | None = None) -> date:
    """The system's local date now."""
    return local_date(now or timezone.now(), Topology(system, [], [], [], [], {}).tz)
