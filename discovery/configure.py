"""Discovery → catalog: the default structure, new ids, and the device + adapter rows.

Every catalog write goes through :func:`catalog.services.save_entity`, the same validation
the admin, API and YAML import use. Inverters join the default inverter array, battery
packs the default battery array, meters the system level (spec §3.4, §6.3).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from adapters.readings import DeviceIdentity
from adapters.registry import get_type
from catalog import choices, constants
from catalog import models as cm
from catalog.services import ensure_default_structure, ensure_pack_units, save_entity
from discovery.models import DeviceDiscovery

SUFFIX_LENGTH = 6


def device_kind_for(adapter_type: str) -> str:
    """The catalog kind (inverter, battery_pack, meter) an adapter type's devices are."""
    return str(choices.CATEGORY_DEVICE_TYPE[choices.DeviceCategory(get_type(adapter_type).device_category)])


KIND_MODELS: dict[str, type[cm.Inverter] | type[cm.BatteryPack] | type[cm.Meter]] = {
    choices.DeviceType.INVERTER: cm.Inverter,
    choices.DeviceType.BATTERY_PACK: cm.BatteryPack,
    choices.DeviceType.METER: cm.Meter,
}


def _id_taken(candidate: str, kind: str) -> bool:
    return (DeviceDiscovery.objects.filter(pk=candidate).exists()
            or KIND_MODELS[kind].objects.filter(pk=candidate).exists()
            or cm.Adapter.objects.filter(pk=f"{candidate}_adapter").exists())


def new_device_id(adapter_type: str, serial_number: str) -> str:
    """``{type}_{last 6 of the serial}``, lower-cased; the suffix grows until the id is free.

    Two devices whose serials end alike get ``powdrive_456789`` and ``powdrive_23456789``.
    """
    clean = re.sub(r"[^a-z0-9]", "", serial_number.lower()) or "device"
    kind = device_kind_for(adapter_type)
    for length in range(min(SUFFIX_LENGTH, len(clean)), len(clean) + 1):
        candidate = f"{adapter_type}_{clean[-length:]}"
        if not _id_taken(candidate, kind):
            return candidate
    number = 2
    while _id_taken(f"{adapter_type}_{clean}_{number}", kind):
        number += 1
    return f"{adapter_type}_{clean}_{number}"


def adapter_config_for(adapter_type: str, config: dict[str, Any], identity: DeviceIdentity
                       ) -> dict[str, Any]:
    """The adapter config to store: the probe settings that worked, plus what identify told."""
    stored = {k: v for k, v in config.items() if k != "timeout"}
    cells = str(identity.extra.get("cell_number", "")).strip()
    if adapter_type == "pytes" and cells.isdigit() and 1 <= int(cells) <= 32:
        stored["cells_per_battery"] = int(cells)
    return stored


@transaction.atomic
def ensure_targets() -> tuple[cm.System, cm.InverterArray, cm.BatteryArray]:
    """The default system and arrays (spec §6.5), creating whichever is missing."""
    ensure_default_structure()
    system = (cm.System.objects.filter(pk=constants.DEFAULT_SYSTEM_ID).first()
              or cm.System.objects.order_by("pk").first())
    assert system is not None  # ensure_default_structure made one
    array = cm.InverterArray.objects.filter(pk=constants.DEFAULT_ARRAY_ID).first() or save_entity(
        cm.InverterArray(array_id=constants.DEFAULT_ARRAY_ID, system=system,
                         name=constants.DEFAULT_ARRAY_NAME))
    battery_array = cm.BatteryArray.objects.filter(pk=constants.DEFAULT_BATTERY_ARRAY_ID).first()
    if battery_array is None:
        battery_array = save_entity(cm.BatteryArray(
            battery_array_id=constants.DEFAULT_BATTERY_ARRAY_ID, system=array.system,
            name=constants.DEFAULT_BATTERY_ARRAY_NAME))
        _attach_if_free(battery_array, array)
    return array.system, array, battery_array


def _attach_if_free(battery_array: cm.BatteryArray, array: cm.InverterArray) -> None:
    active = cm.BatteryArrayAttachment.objects.filter(detached_at__isnull=True)
    if battery_array.system_id == array.system_id and not active.filter(inverter_array=array).exists():
        save_entity(cm.BatteryArrayAttachment(battery_array=battery_array, inverter_array=array,
                                              attached_since=timezone.now()))


@transaction.atomic
def create_catalog_entries(row: DeviceDiscovery, collector: str | None = None) -> None:
    """Create the catalog device and its adapter (polled by ``collector``; None: the only one)
    for ``row`` and link them to it."""
    system, array, battery_array = ensure_targets()
    kind = device_kind_for(row.device_type)
    spec = get_type(row.device_type)
    adapter = save_entity(cm.Adapter(
        adapter_id=f"{row.device_id}_adapter", adapter_type_id=row.device_type,
        name=f"{spec.name} on {row.port}", config_json=dict(row.adapter_config), collector_id=collector))
    name = f"{row.model or spec.name} {row.serial_number}"[:200]
    if kind == choices.DeviceType.INVERTER:
        save_entity(cm.Inverter(inverter_id=row.device_id, array=array, adapter=adapter, name=name,
                                model=row.model or None, serial_number=row.serial_number))
    elif kind == choices.DeviceType.METER:
        save_entity(cm.Meter(meter_id=row.device_id, system=system, adapter=adapter, name=name,
                             model=row.model or None, serial_number=row.serial_number,
                             type=choices.MeterType.GRID))
    else:
        pack = save_entity(cm.BatteryPack(pack_id=row.device_id, battery_array=battery_array, name=name))
        save_entity(cm.BatteryPackAdapter(pack=pack, adapter=adapter, priority=1))
        config = {**spec.default_config, **row.adapter_config}
        ensure_pack_units(pack, int(config.get("batteries", 1)), int(config.get("cells_per_battery", 16)))
        first = cm.Battery.objects.get(pack=pack, battery_index=0)
        first.serial_number = row.serial_number  # a console's identity is its first unit's barcode
        save_entity(first)
    row.adapter, row.device_kind, row.catalog_device_id = adapter, kind, row.device_id


def set_adapter_port(row: DeviceDiscovery, port: str) -> None:
    """Point the device's adapter (and the row's config) at ``port``."""
    row.adapter_config = {**row.adapter_config, "serial_port": port}
    if row.adapter_id is None:
        return
    adapter = cm.Adapter.objects.get(pk=row.adapter_id)
    if adapter.config_json.get("serial_port") != port:
        adapter.config_json = {**adapter.config_json, "serial_port": port}
        save_entity(adapter)


def set_adapter_collector(row: DeviceDiscovery, collector: str, *, only_unassigned: bool = False) -> None:
    """Make ``collector`` poll the device's adapter (its port is on that collector's host)."""
    if row.adapter_id is None:
        return
    adapter = cm.Adapter.objects.get(pk=row.adapter_id)
    if adapter.collector_id != collector and not (only_unassigned and adapter.collector_id):
        adapter.collector_id = collector
        save_entity(adapter)


def set_adapter_enabled(row: DeviceDiscovery, enabled: bool) -> None:
    """Switch the device's adapter on or off (an off adapter is not polled)."""
    if row.adapter_id is None:
        return
    adapter = cm.Adapter.objects.get(pk=row.adapter_id)
    if adapter.enabled != enabled:
        adapter.enabled = enabled
        save_entity(adapter)


def find_configured(adapter_type: str, serial_number: str, port_key: str,
                    owned: Callable[[cm.Adapter], bool] = lambda adapter: True) -> cm.Adapter | None:
    """A configured adapter for this device: same type, and its device's serial or its port matches.

    Lets discovery adopt a device configured by hand or by YAML, and keep it bound when its
    port moves, instead of creating a duplicate. Only adapters ``owned`` by the scanning
    collector match by port: another host's /dev/ttyUSB0 is another port.
    """
    from discovery.scanning import port_key as key_of

    adapters = cm.Adapter.objects.filter(adapter_type=adapter_type, discoveries__isnull=True)
    for adapter in adapters.order_by("pk"):
        if _device_serial(adapter) == serial_number:
            return adapter
    for adapter in adapters.order_by("pk"):
        port = adapter.config_json.get("serial_port")
        if (port and key_of(str(port)) == port_key and _device_serial(adapter) in (None, "", serial_number)
                and owned(adapter)):
            return adapter
    return None


def _device_serial(adapter: cm.Adapter) -> str | None:
    """The serial number recorded for the adapter's device (a pack's: its first unit's)."""
    serials: Any
    if adapter.device_type == choices.DeviceType.INVERTER:
        serials = cm.Inverter.objects.filter(pk=adapter.device_id)
    elif adapter.device_type == choices.DeviceType.METER:
        serials = cm.Meter.objects.filter(pk=adapter.device_id)
    elif adapter.device_type == choices.DeviceType.BATTERY_PACK:
        serials = cm.Battery.objects.filter(pack=adapter.device_id, battery_index=0)
    else:
        return None
    found: str | None = serials.values_list("serial_number", flat=True).first()
    return found
