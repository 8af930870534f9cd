"""A system's devices as the rollups see them: who belongs to which array, which meters measure
which grid connection, which packs back which array, and each device's limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from aggregation import sources
from aggregation.sql import Device
from catalog import models as catalog


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
