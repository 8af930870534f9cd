"""Where each device id of the original's samples goes in solarmon's catalog.

A device solarmon's catalog already has (imported from the original's catalog tables or config,
or configured by hand) keeps its place; ancestors (array, battery array, system) come from the
catalog, never from the sample row. A device only the samples name is created under the target
system's default structure (``array1``, ``battery_array1``, system-level meters), and reported.
Packs get the batteries and cells their unit and cell rows number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.db.models import Model

from catalog import constants
from catalog import models as m
from catalog.constants import ID_MAX_LENGTH, ID_REGEX
from catalog.services import ensure_pack_units, save_entity
from legacy.scan import Scan
from legacy.source import LegacyError

M = TypeVar("M", bound=Model)
# Inverter vendors whose stored battery current is + = discharging and temperature + 100.
DEYE_FAMILY = ("powdrive", "deye")
KNOWN_VENDORS = ("powdrive", "senergy")


@dataclass
class Placement:
    """Legacy id → solarmon ids, per kind, and what was created on the way."""

    inverters: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # inverter, array, system
    vendors: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, tuple[str, str]] = field(default_factory=dict)  # array, system
    meters: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)  # meter, system, array
    packs: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # pack, battery array, system
    units: dict[tuple[str, int], str] = field(default_factory=dict)
    cells: dict[tuple[str, int, int], tuple[str, str]] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    @property
    def system_ids(self) -> set[str]:
        return ({s for _, _, s in self.inverters.values()} | {s for _, s, _ in self.meters.values()}
                | {s for _, _, s in self.packs.values()})


class Placer:
    """Places the devices of one scan, creating what is missing in ``system_id``."""

    def __init__(self, scan: Scan, source: str, system_id: str | None, timezone: str,
                 first_sample: datetime | None, vendor_of: Callable[[str], str | None]) -> None:
        self.scan = scan
        self.source = source
        self.wanted_system = system_id
        self.timezone = timezone
        self.first_sample = first_sample
        self.vendor_of = vendor_of
        self.placement = Placement()
        self._system: m.System | None = None

    def place(self) -> Placement:
        """Place every device; :class:`LegacyError` for one that cannot be placed."""
        for table in ("energy_samples", "hourly_energy", "array_samples", "meter_samples",
                      "battery_bank_samples"):
            for device_id in self.scan.devices(table):
                self._check_id(table, device_id)
        for device_id in sorted({*self.scan.devices("energy_samples"), *self.scan.devices("hourly_energy")}):
            inverter = m.Inverter.objects.filter(pk=device_id).select_related("adapter").first()
            inverter = inverter or self._create(m.Inverter(inverter_id=device_id, name=device_id,
                                                           array=self._default_array()))
            self.placement.inverters[device_id] = (inverter.pk, inverter.array_id, inverter.system_id)
            self.placement.vendors[device_id] = self._vendor(inverter)
        for array_id in self.scan.devices("array_samples"):
            array = m.InverterArray.objects.filter(pk=array_id).first()
            array = array or self._create(m.InverterArray(array_id=array_id, name=array_id,
                                                          system=self._target_system()))
            self.placement.arrays[array_id] = (array.pk, array.system_id)
        for meter_id in self.scan.devices("meter_samples"):
            meter = m.Meter.objects.filter(pk=meter_id).first()
            meter = meter or self._create(m.Meter(meter_id=meter_id, name=meter_id,
                                                  system=self._target_system(), type="grid"))
            self.placement.meters[meter_id] = (meter.pk, meter.system_id, meter.array_id)
        for pack_id in sorted(set(self.scan.devices("battery_bank_samples")) | set(self.scan.units)):
            self._check_id("battery_unit_samples", pack_id)
            self._place_pack(pack_id)
        return self.placement

    def _place_pack(self, pack_id: str) -> None:
        pack = m.BatteryPack.objects.filter(pk=pack_id).first()
        pack = pack or self._create(m.BatteryPack(pack_id=pack_id, name=pack_id,
                                                  battery_array=self._default_battery_array()))
        self.placement.packs[pack_id] = (pack.pk, pack.battery_array_id, pack.system_id)
        units, cells = self.scan.units.get(pack_id, (0, 0))
        if units:
            made = ensure_pack_units(pack, units, cells)
            if any(made):
                self.placement.created.append(f"pack {pack_id}: {made[0]} batteries and {made[1]} cells "
                                              "(numbered by its unit and cell rows)")
        for battery in m.Battery.objects.filter(pack=pack):
            self.placement.units[(pack_id, battery.battery_index + 1)] = battery.pk
        for cell in m.BatteryCell.objects.filter(pack=pack).select_related("battery"):
            key = (pack_id, cell.battery.battery_index + 1, cell.cell_index + 1)
            self.placement.cells[key] = (cell.pk, cell.battery_id)

    def _check_id(self, table: str, device_id: str) -> None:
        if not re.match(ID_REGEX, device_id) or len(device_id) > ID_MAX_LENGTH:
            raise LegacyError(f"{self.source}: table {table} names the device {device_id!r}, which is not a "
                              f"valid id here (letters, digits, '_', '-', '.', at most {ID_MAX_LENGTH}), so "
                              "its samples cannot be placed")

    def _vendor(self, inverter: m.Inverter) -> str:
        """Whose sign conventions the inverter's stored rows follow."""
        if inverter.adapter is not None and inverter.adapter.adapter_type_id in KNOWN_VENDORS:
            return inverter.adapter.adapter_type_id
        if (inverter.vendor or "").lower() in (*DEYE_FAMILY, "senergy"):
            return "powdrive" if (inverter.vendor or "").lower() in DEYE_FAMILY else "senergy"
        found = self.vendor_of(inverter.pk)
        if found is None:
            raise LegacyError(f"{self.source}: table energy_samples: cannot tell whether inverter "
                              f"{inverter.pk!r} is a Powdrive or a Senergy (the sign of its stored battery "
                              "current depends on it); give the original's config.yaml with --config")
        self.placement.created.append(f"inverter {inverter.pk}: read as {found} (from its stored modes)")
        return found

    # ---- the default structure of the target system ---------------------------------------
    def _target_system(self) -> m.System:
        if self._system is not None:
            return self._system
        systems = list(m.System.objects.order_by("pk"))
        if self.wanted_system is not None:
            found = next((s for s in systems if s.pk == self.wanted_system), None)
            if found is None and systems:
                raise LegacyError(f"{self.source}: no system {self.wanted_system!r} in solarmon "
                                  f"(there are: {', '.join(s.pk for s in systems)})")
            self._system = found or self._create(m.System(
                system_id=self.wanted_system, name=self.wanted_system, timezone=self.timezone))
        elif len(systems) == 1:
            self._system = systems[0]
        elif not systems:
            self._system = self._create(m.System(system_id=constants.DEFAULT_SYSTEM_ID,
                                                 name=constants.DEFAULT_SYSTEM_NAME, timezone=self.timezone))
        else:
            raise LegacyError(f"{self.source}: devices must be created, and solarmon has several systems "
                              f"({', '.join(s.pk for s in systems)}); say which with --system")
        return self._system

    def _default_array(self) -> m.InverterArray:
        system = self._target_system()
        found = m.InverterArray.objects.filter(system=system).order_by("pk").first()
        return found or self._create(m.InverterArray(array_id=self._free_id(m.InverterArray,
                                                                              constants.DEFAULT_ARRAY_ID),
                                                     system=system, name=constants.DEFAULT_ARRAY_NAME))

    def _default_battery_array(self) -> m.BatteryArray:
        system = self._target_system()
        found = m.BatteryArray.objects.filter(system=system).order_by("pk").first()
        if found is not None:
            return found
        battery_array = self._create(m.BatteryArray(
            battery_array_id=self._free_id(m.BatteryArray, constants.DEFAULT_BATTERY_ARRAY_ID),
            system=system, name=constants.DEFAULT_BATTERY_ARRAY_NAME))
        array = self._default_array()
        active = m.BatteryArrayAttachment.objects.filter(inverter_array=array, detached_at__isnull=True)
        if not active.exists():
            # Attached since the first sample: the history says the batteries were always there.
            since = self.first_sample or datetime.now().astimezone()
            self._create(m.BatteryArrayAttachment(battery_array=battery_array, inverter_array=array,
                                                  attached_since=since))
        return battery_array

    def _free_id(self, model: type[Model], wanted: str) -> str:
        """``wanted``, or ``{system}_{wanted}`` when another system already uses the id."""
        if not model._default_manager.filter(pk=wanted).exists():
            return wanted
        return f"{self._target_system().pk}_{wanted}"[:ID_MAX_LENGTH]

    def _create(self, obj: M) -> M:
        saved = save_entity(obj)
        self.placement.created.append(f"{obj._meta.db_table}: {saved}")
        return saved


def vendor_from_rows(scan: Scan, inverter_id: str) -> str | None:
    """Which vendor's conventions an inverter's rows follow, from its ``inverter_mode`` values:
    the original stored Powdrive's running state as text and Senergy's as an integer."""
    kinds = scan.mode_types.get(inverter_id, set())
    if "text" in kinds:
        return "powdrive"
    return "senergy" if "integer" in kinds else None
