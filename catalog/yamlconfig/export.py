"""The database configuration as YAML in the spec §7 shape.

Inverters carry their adapter inline, battery banks an ``adapters:`` list (with ids,
priorities and ``enabled``), meters an ``adapter_id`` into the top-level ``adapters:``
list, which also holds adapters no device uses. Sections other apps own (``mqtt``,
``discovery``) follow. Importing the output changes nothing, and exporting again gives the
same text.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import yaml
from django.db.models import Count, Max
from django.utils.timezone import localtime

from catalog import models as m
from catalog.yamlconfig.problems import ImportFailed
from catalog.yamlconfig.sections import SECTIONS

HEADER = ("# solarmon configuration, written by `manage.py export_yaml`.\n"
          "# The database is the source of truth; load this file with `manage.py import_yaml PATH`.\n")


def export_config() -> str:
    """YAML text of the one system in the database. Raises ``ImportFailed`` when that is not one."""
    systems = list(m.System.objects.all())
    if len(systems) != 1:
        raise ImportFailed([f"the YAML format describes one system; the database has {len(systems)}"])
    system = systems[0]
    used: set[str] = set()
    doc: dict[str, Any] = {"home": _clean({"id": system.pk, "name": system.name,
                                           "description": system.description, "timezone": system.timezone})}
    doc["arrays"] = [_array(array) for array in m.InverterArray.objects.prefetch_related("inverters")]
    doc["inverters"] = [_inverter(inv, used) for inv in m.Inverter.objects.select_related("adapter")]
    battery_arrays = m.BatteryArray.objects.prefetch_related("packs")
    doc["battery_bank_arrays"] = [_battery_array(ba) for ba in battery_arrays]
    doc["battery_banks"] = [_pack(pack, used) for pack in m.BatteryPack.objects.all()]
    zone = ZoneInfo(system.timezone)
    attachments = m.BatteryArrayAttachment.objects.order_by("battery_array", "attached_since")
    doc["battery_bank_array_attachments"] = [_attachment(att, zone) for att in attachments]
    doc["meters"] = [_meter(meter, used) for meter in m.Meter.objects.all()]
    doc["adapters"] = [_adapter(adapter, with_id=True) for adapter in m.Adapter.objects.exclude(pk__in=used)]
    for key, section in SECTIONS.items():
        doc[key] = section.export()
    body = {key: value for key, value in doc.items() if value}
    return HEADER + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Leave out empty columns; write whole-number floats as integers (12000, not 12000.0)."""
    return {key: int(value) if isinstance(value, float) and value.is_integer() else value
            for key, value in values.items() if value is not None}


def _array(array: m.InverterArray) -> dict[str, Any]:
    return {"id": array.pk, "name": array.name, "system_id": array.system_id,
            "inverter_ids": sorted(inv.pk for inv in array.inverters.all())}


def _battery_array(ba: m.BatteryArray) -> dict[str, Any]:
    return {"id": ba.pk, "name": ba.name, "system_id": ba.system_id,
            "battery_bank_ids": sorted(pack.pk for pack in ba.packs.all())}


def _inverter(inv: m.Inverter, used: set[str]) -> dict[str, Any]:
    item = _clean({"id": inv.pk, "name": inv.name, "system_id": inv.system_id, "array_id": inv.array_id,
                   "model": inv.model, "serial_number": inv.serial_number, "vendor": inv.vendor,
                   "phase_type": inv.phase_type, "rated_power_w": inv.rated_power_w})
    if inv.adapter is not None:
        used.add(inv.adapter.pk)
        item["adapter"] = _adapter(inv.adapter, with_id=inv.adapter.pk != f"{inv.pk}_adapter")
    return item


def _pack(pack: m.BatteryPack, used: set[str]) -> dict[str, Any]:
    item = _clean({"id": pack.pk, "name": pack.name, "system_id": pack.system_id,
                   "battery_array_id": pack.battery_array_id, "chemistry": pack.chemistry,
                   "nominal_kwh": pack.nominal_kwh, "max_charge_kw": pack.max_charge_kw,
                   "max_discharge_kw": pack.max_discharge_kw, "model": pack.model,
                   "manufacturer": pack.manufacturer})
    units = pack.batteries.aggregate(count=Count("pk"))["count"]
    if units:
        cells = pack.batteries.annotate(n=Count("cells")).aggregate(most=Max("n"))["most"]
        item.update({"batteries": units, "cells_per_battery": cells or 0})
    adapters = []
    for link in pack.adapter_links.select_related("adapter").order_by("priority", "adapter_id"):
        used.add(link.adapter_id)
        adapters.append(_adapter(link.adapter, with_id=True, link=link))
    if adapters:
        item["adapters"] = adapters
    return item


def _attachment(att: m.BatteryArrayAttachment, zone: ZoneInfo) -> dict[str, Any]:
    return {"battery_bank_array_id": att.battery_array_id, "inverter_array_id": att.inverter_array_id,
            "attached_since": localtime(att.attached_since, zone).isoformat(),
            "detached_at": localtime(att.detached_at, zone).isoformat() if att.detached_at else None}


def _meter(meter: m.Meter, used: set[str]) -> dict[str, Any]:
    item = {"id": meter.pk, "name": meter.name, "system_id": meter.system_id, "array_id": meter.array_id}
    if meter.adapter_id:
        item["adapter_id"] = meter.adapter_id
    item.update(_clean({"attachment_target": meter.attachment_target, "type": meter.type,
                        "model": meter.model, "serial_number": meter.serial_number}))
    return item


def _adapter(adapter: m.Adapter, with_id: bool, link: m.BatteryPackAdapter | None = None
             ) -> dict[str, Any]:
    """An adapter mapping: ``type``, the row's own columns when not default, then the config."""
    config = {key: value for key, value in adapter.config_json.items() if key != "type"}
    poll = adapter.poll_interval_s if adapter.poll_interval_s is not None else config.get("poll_interval_s")
    config.pop("poll_interval_s", None)
    item: dict[str, Any] = {"id": adapter.pk} if with_id else {}
    item["type"] = adapter.adapter_type_id
    item.update(_clean({"name": adapter.name, "poll_interval_s": poll, "collector": adapter.collector_id}))
    if link is not None:
        # A pack's link carries the failover priority and whether it is used.
        item.update({"priority": link.priority, **({} if link.enabled else {"enabled": False})})
    else:
        item.update({"priority": adapter.priority} if adapter.priority != 1 else {})
        item.update({} if adapter.enabled else {"enabled": False})
    return {**item, **config}
