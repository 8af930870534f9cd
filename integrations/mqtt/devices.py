"""The installation as Home Assistant devices: one per solarmon device, linked by ``via_device``.

system → array → inverter; system → battery array → pack → battery unit; meters hang off
the system (or their array). Read through the catalog's one hierarchy selector
(``build_tree``), one query per table whatever the installation's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog import models as catalog
from catalog.api.hierarchy import build_tree
from integrations.choices import HaKind
from integrations.models import CELLS_AUTO_LIMIT, MqttPackOption
from telemetry.choices import DeviceKind

# Adapter type → manufacturer shown in Home Assistant (the inverter's own ``vendor`` wins).
MANUFACTURERS = {"powdrive": "Powdrive", "senergy": "Senergy", "iammeter": "IAMMETER", "pytes": "Pytes",
                 "jkbms_tcpip": "JK BMS", "jkbms_ble": "JK BMS"}
GROUP_MODELS = {HaKind.SYSTEM: "Solar system", HaKind.ARRAY: "Inverter array",
                HaKind.BATTERY_ARRAY: "Battery array"}

Key = tuple[str, str]  # (HaKind, solarmon id)


@dataclass(frozen=True)
class HaDevice:
    """One Home Assistant device and what its availability follows.

    ``polled`` lists the (device_type, device_id) statuses behind it: itself for an inverter,
    meter or pack; its pack for a battery unit; its members for an array, battery array or the
    system, which are available while any member is.
    """

    kind: str
    device_id: str
    system_id: str
    name: str
    via: Key | None
    manufacturer: str
    model: str
    serial: str = ""
    polled: tuple[tuple[str, str], ...] = ()
    pack_id: str = ""  # a battery unit's pack
    unit: int = 0  # a battery unit's 1-based number (the samples' ``power`` column)
    cells: int = 0  # a battery unit's cell count, when its cells are published
    pack_cells: int = 0  # a pack's cell count in all

    @property
    def key(self) -> Key:
        return (self.kind, self.device_id)


@dataclass
class Installation:
    """Every Home Assistant device of one system, in parent-before-child order."""

    system_id: str
    timezone: str
    devices: list[HaDevice] = field(default_factory=list)

    def by_key(self) -> dict[Key, HaDevice]:
        return {d.key: d for d in self.devices}


def _adapter_types(system_id: str) -> dict[str, str]:
    return dict(catalog.Adapter.objects.filter(
        pk__in=_adapter_ids(system_id)).values_list("pk", "adapter_type_id"))


def _adapter_ids(system_id: str) -> set[str]:
    ids = set(catalog.Inverter.objects.filter(system_id=system_id).values_list("adapter_id", flat=True))
    ids |= set(catalog.Meter.objects.filter(system_id=system_id).values_list("adapter_id", flat=True))
    ids |= set(catalog.BatteryPackAdapter.objects.filter(pack__system_id=system_id)
               .values_list("adapter_id", flat=True))
    return {i for i in ids if i}


def _publish_cells(option: bool | None, cells: int) -> bool:
    return option if option is not None else cells <= CELLS_AUTO_LIMIT


def installation(system: catalog.System) -> Installation:
    """The system's Home Assistant devices (about ten queries in all)."""
    tree = build_tree(system, {}, with_cells=True)
    types = _adapter_types(system.pk)
    options = dict(MqttPackOption.objects.filter(pack__system=system).values_list("pack_id", "publish_cells"))
    sid = system.pk
    out = Installation(sid, system.timezone)
    everything: list[tuple[str, str]] = []
    groups: list[HaDevice] = []
    for array in tree.tree_arrays:  # type: ignore[attr-defined]
        members = tuple((DeviceKind.INVERTER.value, i.pk) for i in array.tree_inverters)
        groups.append(HaDevice(HaKind.ARRAY, array.pk, sid, array.name, (HaKind.SYSTEM, sid), "solarmon",
                               GROUP_MODELS[HaKind.ARRAY], polled=members))
        for inv in array.tree_inverters:
            groups.append(HaDevice(
                HaKind.INVERTER, inv.pk, sid, inv.name, (HaKind.ARRAY, array.pk),
                inv.vendor or MANUFACTURERS.get(types.get(inv.adapter_id or "", ""), "unknown"),
                inv.model or types.get(inv.adapter_id or "", "inverter"), inv.serial_number or "",
                polled=((DeviceKind.INVERTER.value, inv.pk),)))
            everything.append((DeviceKind.INVERTER.value, inv.pk))
    for battery_array in tree.tree_battery_arrays:  # type: ignore[attr-defined]
        members = tuple((DeviceKind.BATTERY_PACK.value, p.pk) for p in battery_array.tree_packs)
        groups.append(HaDevice(HaKind.BATTERY_ARRAY, battery_array.pk, sid, battery_array.name,
                               (HaKind.SYSTEM, sid), "solarmon", GROUP_MODELS[HaKind.BATTERY_ARRAY],
                               polled=members))
        for pack in battery_array.tree_packs:
            groups.extend(_pack_devices(pack, battery_array.pk, sid, types, options))
            everything.append((DeviceKind.BATTERY_PACK.value, pack.pk))
    for meter in catalog.Meter.objects.filter(system=sid).order_by("pk"):
        via = (HaKind.ARRAY, meter.array_id) if meter.array_id else (HaKind.SYSTEM, sid)
        groups.append(HaDevice(HaKind.METER, meter.pk, sid, meter.name, via,
                               MANUFACTURERS.get(types.get(meter.adapter_id or "", ""), "unknown"),
                               meter.model or types.get(meter.adapter_id or "", "meter"),
                               meter.serial_number or "", polled=((DeviceKind.METER.value, meter.pk),)))
        everything.append((DeviceKind.METER.value, meter.pk))
    out.devices.append(HaDevice(HaKind.SYSTEM, sid, sid, system.name, None, "solarmon",
                                GROUP_MODELS[HaKind.SYSTEM], polled=tuple(everything)))
    out.devices.extend(groups)
    return out


def _pack_devices(pack: catalog.BatteryPack, battery_array_id: str, sid: str, types: dict[str, str],
                  options: dict[str, bool | None]) -> list[HaDevice]:
    links = sorted(pack.tree_adapters, key=lambda link: link.priority)  # type: ignore[attr-defined]
    adapter_type = types.get(links[0].adapter_id, "") if links else ""
    batteries = pack.tree_batteries  # type: ignore[attr-defined]
    total_cells = sum(len(b.tree_cells or []) for b in batteries)
    with_cells = _publish_cells(options.get(pack.pk), total_cells)
    polled = ((DeviceKind.BATTERY_PACK.value, pack.pk),)
    maker = MANUFACTURERS.get(adapter_type, "unknown")
    out = [HaDevice(HaKind.PACK, pack.pk, sid, pack.name, (HaKind.BATTERY_ARRAY, battery_array_id), maker,
                    adapter_type or "battery pack", polled=polled, pack_cells=total_cells)]
    for battery in batteries:
        unit = battery.battery_index + 1
        out.append(HaDevice(
            HaKind.BATTERY, battery.pk, sid, f"{pack.name} battery {unit}", (HaKind.PACK, pack.pk), maker,
            battery.model or "battery unit", battery.serial_number or "", polled=polled, pack_id=pack.pk,
            unit=unit, cells=len(battery.tree_cells or []) if with_cells else 0))
    return out


def all_installations() -> list[Installation]:
    return [installation(system) for system in catalog.System.objects.order_by("pk")]
