"""A system's devices as the rollups see them: who belongs to which array, which meters measure
which grid connection, which packs back which array, and each device's limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from aggregation import sources
from aggregation.sql import Device
from catalog import models as catalog
from catalog.selectors import Part, fingerprint


@dataclass
class Topology:
    """The catalog of one system, loaded once per rollup."""

    system: catalog.System
    inverters: list[catalog.Inverter]
    arrays: list[catalog.InverterArray]
    meters: list[catalog.Meter]
    packs: list[catalog.BatteryPack]
    attached: dict[str, str]  # inverter array → battery array attached now
    inverter_limits: list[Device] = field(default_factory=list)
    meter_limits: list[Device] = field(default_factory=list)
    pack_limits: list[Device] = field(default_factory=list)

    @classmethod
    def load(cls, system: catalog.System) -> Topology:
        inverters = list(catalog.Inverter.objects.filter(system=system)
                         .select_related("adapter__adapter_type"))
        meters = list(catalog.Meter.objects.filter(system=system).select_related("adapter__adapter_type"))
        packs = list(catalog.BatteryPack.objects.filter(system=system))
        attached = dict(catalog.BatteryArrayAttachment.objects.filter(
            inverter_array__system=system, detached_at__isnull=True)
            .values_list("inverter_array_id", "battery_array_id"))
        return cls(system, inverters, list(catalog.InverterArray.objects.filter(system=system)), meters,
                   packs, attached, sources.inverter_limits(inverters), sources.meter_limits(meters),
                   sources.pack_limits(packs))

    @classmethod
    def current(cls, system: catalog.System) -> Topology:
        """The system's topology, loaded again only when its catalog has changed.

        Periodic rollups and today's figures read it every few seconds or minutes; one query on
        the catalog tables' row counts and last changes says whether the copy held is still the
        catalog (cached per process).
        """
        return cls._current(system.pk, lambda: system)

    @classmethod
    def current_of(cls, system_id: str) -> Topology | None:
        """:meth:`current` by the system's id: the system row is read only when the catalog has
        changed (the periodic rollup runs every quarter hour with nothing else to read it for).
        None when the system is gone."""
        try:
            return cls._current(system_id, lambda: catalog.System.objects.get(pk=system_id))
        except catalog.System.DoesNotExist:
            return None

    @classmethod
    def _current(cls, system_id: str, system: Callable[[], catalog.System]) -> Topology:
        mark = fingerprint(system_id, _PARTS)
        held = _CACHE.get(system_id)
        if held is not None and held[0] == mark:
            return held[1]
        topo = cls.load(system())
        _CACHE[system_id] = (mark, topo)
        return topo

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.system.timezone)

    def members(self, array_id: str) -> list[str]:
        return [i.pk for i in self.inverters if i.array_id == array_id]

    def array_meters(self, array_id: str) -> list[str]:
        return [mt.pk for mt in self.meters if mt.array_id == array_id]

    def system_meters(self) -> list[str]:
        return [mt.pk for mt in self.meters if mt.array_id is None]

    def packs_of(self, array_id: str | None) -> list[catalog.BatteryPack]:
        """Packs backing an inverter array (through its attached battery array); all for None."""
        if array_id is None:
            return list(self.packs)
        battery_array = self.attached.get(array_id)
        return [p for p in self.packs if battery_array is not None and p.battery_array_id == battery_array]

    @staticmethod
    def capacity(packs: list[catalog.BatteryPack]) -> float | None:
        total = sum(p.nominal_kwh or 0.0 for p in packs)
        return total or None


_CACHE: dict[str, tuple[tuple[Any, ...], Topology]] = {}
# What a topology is read from: per table, whether it is filtered to the system, and the
# aggregates that change when its rows do.
_PARTS: list[Part] = [
    ("systems", True, ["COUNT(*)", "MAX(updated_at)", "MAX(timezone)"]),
    ("inverters", True, ["COUNT(*)", "MAX(updated_at)", "SUM(rated_power_w)"]),
    ("meters", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("battery_packs", True, ["COUNT(*)", "MAX(updated_at)", "SUM(nominal_kwh)"]),
    ("arrays", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("adapters", False, ["COUNT(*)", "MAX(updated_at)"]),
    ("battery_pack_adapters", False, ["COUNT(*)", "MAX(id)", "SUM(priority)",
                                      "SUM(CASE WHEN enabled THEN 1 ELSE 0 END)"]),
    ("battery_array_attachments", False, ["COUNT(*)", "MAX(id)", "COUNT(detached_at)",
                                          "MAX(attached_since)"]),
    ("device_status", True, ["COUNT(*)", "SUM(poll_interval_s)"]),
]
