"""One local day's slot aggregates, grouped by device and hour, and where they come from.

The aggregates of a slot are read from the raw samples (:func:`raw_slots`, the SQL path) or from
the 5-minute tiers that keep them (:func:`tier_slots`); both give the same day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import connection

from aggregation import sources, sql, tiers
from aggregation.buckets import QUARTER_SLOTS, Day, Hour, hour_of_slots, slot_of
from aggregation.stats import Agg, merge
from aggregation.topology import Topology

log = logging.getLogger(__name__)

SlotAggs = dict[tuple[str, int], Agg]
HourAggs = dict[str, dict[Hour, Agg]]
KINDS = ("inv", "meter", "pack")


class DayData:
    """Slot aggregates of one day, per kind ("inv", "meter", "pack"), grouped by device and local hour."""

    def __init__(self, day: Day, slots: dict[str, SlotAggs]) -> None:
        self.day = day
        self.slot_hours = hour_of_slots(day)
        self.slots = {kind: {key: agg for key, agg in slots.get(kind, {}).items()
                             if key[1] in self.slot_hours} for kind in KINDS}
        self.hours = {kind: self._by_hour(aggs) for kind, aggs in self.slots.items()}
        self.days = {kind: {dev: merge(hours.values()) for dev, hours in by_dev.items()}
                     for kind, by_dev in self.hours.items()}

    def _by_hour(self, aggs: SlotAggs) -> HourAggs:
        grouped: dict[str, dict[Hour, list[Agg]]] = {}
        for (dev, slot), agg in aggs.items():
            grouped.setdefault(dev, {}).setdefault(self.slot_hours[slot], []).append(agg)
        return {dev: {hour: merge(parts) for hour, parts in hours.items()} for dev, hours in grouped.items()}

    def quarter_members(self, members: list[tuple[str, str]]) -> list[list[Agg]]:
        """Per quarter hour of the day, the aggregates of the given (kind, device) members.

        Daily peaks of a sum of devices are taken over quarter-hour averages: samples of
        different inverters are not simultaneous, so their sum is only meaningful averaged.
        """
        slots = list(self.day.slots)
        out = []
        for i in range(0, len(slots), QUARTER_SLOTS):
            quarter = slots[i:i + QUARTER_SLOTS]
            aggs = []
            for kind, dev in members:
                parts = [a for s in quarter if (a := self.slots[kind].get((dev, s))) is not None]
                if parts:
                    aggs.append(merge(parts))
            out.append(aggs)
        return out


def _read(table: sql.Table, devices: list[sql.Device], start: datetime, end: datetime) -> SlotAggs:
    gap = max((d.max_gap_s for d in devices), default=sources.MAX_GAP_LIMIT_S)
    # Neighbours reach two samples back (a glitch check) and one forward, and the first sample
    # after ``end`` books part of its interval before it.
    margin = timedelta(seconds=2 * gap + 1)
    found = sql.run(table, devices, start - margin, end + margin, default_cap=sources.default_cap_w(),
                    default_gap=sources.max_gap(sources.DEFAULT_INTERVAL_S))
    first, last = slot_of(start), slot_of(end)
    return {key: agg for key, agg in found.items() if first <= key[1] < last}


def raw_slots(topo: Topology, start: datetime, end: datetime, *, cell_band: SlotAggs | None = None
              ) -> dict[str, SlotAggs]:
    """Slot aggregates of [start, end) (whole slots) from the raw samples; packs with their cell band.

    Imported history recorded less often than its device is polled now bridges the gaps of its
    recorded interval (``RecordedInterval``).

    The cell band comes from the cell tiers of the same range, so those are written first
    (:func:`aggregation.tiers.replace_stat_tiers`), unless ``cell_band`` gives it.
    """
    limits = recorded_limits(topo, start, end)
    slots = {"inv": _read(sources.ENERGY, limits["inv"], start, end),
             "meter": _read(sources.METER, limits["meter"], start, end),
             "pack": _read(sources.PACK, limits["pack"], start, end)}
    if cell_band is None:
        cell_band = tiers.cell_spread([p.pk for p in topo.packs], start, end)
    for key, band in cell_band.items():
        if key in slots["pack"]:
            slots["pack"][key].update(band)
    return slots


def recorded_limits(topo: Topology, start: datetime, end: datetime) -> dict[str, list[sql.Device]]:
    """Per kind, the devices' limits for [start, end), with the gap of their recorded interval where
    the samples there were taken less often than they are polled now (as
    :func:`aggregation.sources.with_recorded_intervals`, in one query for every kind)."""
    from aggregation.models import RecordedInterval

    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    table = RecordedInterval._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT device_type, device_id, MAX(interval_s) FROM {table} WHERE "
                       f"{quote('start')} < %s AND {quote('end')} >= %s GROUP BY device_type, device_id",
                       [adapt(end), adapt(start)])
        longest = {(kind, dev): float(interval) for kind, dev, interval in cursor.fetchall()}
    out = {}
    kinds = (("inv", topo.inverter_limits), ("meter", topo.meter_limits), ("pack", topo.pack_limits))
    for kind, devices in kinds:
        found = [(d, longest.get((DEVICE_TYPES[kind], d.device_id))) for d in devices]
        out[kind] = [replace(d, max_gap_s=max(d.max_gap_s, sources.recorded_gap(interval)))
                     if interval is not None else d for d, interval in found]
    return out


def tier_slots(topo: Topology, start: datetime, end: datetime) -> dict[str, SlotAggs]:
    """Slot aggregates of [start, end) from the 5-minute tiers."""
    devices = {"inv": [i.pk for i in topo.inverters], "meter": [m.pk for m in topo.meters],
               "pack": [p.pk for p in topo.packs]}
    return {kind: tiers.read_energy_tiers(tiers.ENERGY_TIERS[kind], devices[kind], start, end)
            for kind in KINDS}


def log_glitches(slots: dict[str, SlotAggs]) -> dict[tuple[str, str], int]:
    """Log, per device, the counter glitches discarded and the resets or jumps met in these slots.

    Returns the glitches per (device type, device id), every device of the slots included
    (what ``aggregation.signals.rollup_written`` carries).
    """
    counts: dict[tuple[str, str], int] = {}
    for kind, aggs in slots.items():
        by_dev: dict[str, list[Agg]] = {}
        for (dev, _), agg in aggs.items():
            by_dev.setdefault(dev, []).append(agg)
        for dev, parts in by_dev.items():
            glitches = counts[DEVICE_TYPES.get(kind, kind), dev] = _total(parts, "gl_")
            rebases = _total(parts, "rb_")
            if glitches or rebases:
                log.warning("%s %s: %d counter glitches discarded, %d counter resets/jumps", kind, dev,
                            glitches, rebases)
    return counts


DEVICE_TYPES = tiers.DEVICE_TYPES


def _total(aggs: Iterable[Agg], prefix: str) -> int:
    return sum(v for agg in aggs for k, v in agg.items() if k.startswith(prefix) and v)


class TierDaySummary:
    """A day's per-device aggregates and inverter quarter hours, aggregated from its tiers in SQL.

    What daily rows need (:class:`aggregation.levels.DaySummary`) at a cost that does not grow
    with the hour of the day: two grouped queries instead of reading every slot. ``glitches``: the
    day's counter glitches so far per (device type, device id), from the same query.
    """

    def __init__(self, topo: Topology, day: Day) -> None:
        self.day = day
        devices = {"inv": [i.pk for i in topo.inverters], "meter": [m.pk for m in topo.meters],
                   "pack": [p.pk for p in topo.packs]}
        found, self.glitches = tiers.kind_hour_aggregates(devices, [(day.start_utc, day.end_utc)])
        self.days = {kind: {dev: whole[0] for dev, whole in by_dev.items()} for kind, by_dev in found.items()}
        self._quarters = tiers.quarter_aggregates(devices["inv"], day.start_utc, day.end_utc)
        self._count = -(-len(day.slots) // QUARTER_SLOTS)

    def quarter_members(self, members: list[tuple[str, str]]) -> list[list[Agg]]:
        return [[a for _, dev in members if (a := self._quarters.get((dev, q))) is not None]
                for q in range(self._count)]
