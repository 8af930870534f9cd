"""One day's slot aggregates, read from the three sample tables and grouped by device and hour."""

from __future__ import annotations

import logging
from datetime import timedelta

from aggregation import sources, sql
from aggregation.buckets import Day, Hour, hour_of_slots
from aggregation.stats import Agg, merge
from aggregation.topology import Topology
from telemetry.choices import DeviceKind

log = logging.getLogger(__name__)

SlotAggs = dict[tuple[str, int], Agg]
HourAggs = dict[str, dict[Hour, Agg]]


class DayData:
    """Slot aggregates of one day, per table, grouped by device and local hour."""

    def __init__(self, topo: Topology, day: Day) -> None:
        self.day = day
        self.slot_hours = hour_of_slots(day)
        self.slots = {"inv": self._read(sources.ENERGY, topo.inverter_limits, DeviceKind.INVERTER),
                      "meter": self._read(sources.METER, topo.meter_limits, DeviceKind.METER),
                      "pack": self._read(sources.PACK, topo.pack_limits, DeviceKind.BATTERY_PACK)}
        self.hours = {kind: self._by_hour(aggs) for kind, aggs in self.slots.items()}
        self.days = {kind: {dev: merge(hours.values()) for dev, hours in by_dev.items()}
                     for kind, by_dev in self.hours.items()}
        _log_glitches(self.days)

    def _read(self, table: sql.Table, devices: list[sql.Device], kind: str) -> SlotAggs:
        devices = sources.with_recorded_intervals(devices, kind, self.day.start_utc, self.day.end_utc)
        gap = max((d.max_gap_s for d in devices), default=sources.MAX_GAP_LIMIT_S)
        # Neighbours reach two samples back (a glitch check) and one forward.
        start = self.day.start_utc - timedelta(seconds=2 * gap + 1)
        end = self.day.end_utc + timedelta(seconds=gap + 1)
        found = sql.run(table, devices, start, end, default_cap=sources.default_cap_w(),
                        default_gap=sources.max_gap(sources.DEFAULT_INTERVAL_S))
        return {key: agg for key, agg in found.items() if key[1] in self.slot_hours}

    def _by_hour(self, aggs: SlotAggs) -> HourAggs:
        grouped: dict[str, dict[Hour, list[Agg]]] = {}
        for (dev, slot), agg in aggs.items():
            grouped.setdefault(dev, {}).setdefault(self.slot_hours[slot], []).append(agg)
        return {dev: {hour: merge(parts) for hour, parts in hours.items()} for dev, hours in grouped.items()}

    def slot_members(self, members: list[tuple[str, str]]) -> list[list[Agg]]:
        """Per slot of the day, the aggregates of the given (kind, device) members."""
        return [[a for kind, dev in members if (a := self.slots[kind].get((dev, slot))) is not None]
                for slot in self.day.slots]


def _log_glitches(days: dict[str, dict[str, Agg]]) -> None:
    for kind, by_dev in days.items():
        for dev, agg in by_dev.items():
            glitches = sum(v for k, v in agg.items() if k.startswith("gl_") and v)
            rebases = sum(v for k, v in agg.items() if k.startswith("rb_") and v)
            if glitches or rebases:
                log.warning("%s %s: %d counter glitches discarded, %d counter resets/jumps", kind, dev,
                            glitches, rebases)
