"""Write services for the catalog. Admin, API, YAML import and discovery all use these.

Style: writes go through ``save_entity``, which validates (model ``clean()`` plus field and
constraint checks), saves, and keeps denormalized ancestor ids and adapter back-links in
step, all in one transaction.
"""

from __future__ import annotations

import logging
import re
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from catalog import choices, constants
from catalog.collectors import pin_implicit_adapters
from catalog.models import (
    Adapter,
    AdapterType,
    Battery,
    BatteryArray,
    BatteryArrayAttachment,
    BatteryCell,
    BatteryPack,
    BatteryPackAdapter,
    Collector,
    Inverter,
    InverterArray,
    Meter,
    System,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=models.Model)


@transaction.atomic
def save_entity(obj: M) -> M:
    """Validate and save one catalog row, then update what depends on it.

    Raises ``django.core.exceptions.ValidationError`` naming the fields at fault.
    """
    _ensure_named_collector(obj)
    obj.full_clean()
    if isinstance(obj, Collector) and obj._state.adding:
        pin_implicit_adapters(obj, timezone.now())
    # A new row is inserted, never "updated into existence": with text ids Django would try
    # an UPDATE first, and two creates racing on one id would silently merge.
    obj.save(force_insert=obj._state.adding)
    _propagate_ancestors(obj)
    _link_adapter(obj)
    return obj


def _ensure_named_collector(obj: models.Model) -> None:
    """An adapter may name a collector that has not run yet (YAML written before a host is
    set up): its row is created, shown as down until a worker with that name starts."""
    if not isinstance(obj, Adapter) or not obj.collector_id:
        return
    if Collector.objects.filter(pk=obj.collector_id).exists():
        return
    try:
        save_entity(Collector(name=obj.collector_id))
    except ValidationError as exc:
        raise ValidationError({"collector": [f"{obj.collector_id!r}: {m}" for m in exc.messages]}) from None


def adapter_config_problems(adapter_type: str, config: object) -> dict[str, list[str]]:
    """The schema problems of an adapter config, by the config key they concern.

    The rule is ``adapters.registry.validate_config``, the same one ``Adapter.clean`` applies
    on every save; this only sorts its messages by field for forms. A problem not tied to
    one key (a config that is not an object) is under ``""``.
    """
    from adapters.registry import validate_config

    by_key: dict[str, list[str]] = {}
    for problem in validate_config(adapter_type, config):
        where, _, message = problem.partition(": ")
        key = re.split(r"[.\[]", where, maxsplit=1)[0]
        key = "" if key.startswith("(") else key
        if message.endswith("is a required property"):
            message = "This field is required here."
        by_key.setdefault(key, []).append(message if key and where == key else problem)
    return by_key


def _propagate_ancestors(obj: models.Model) -> None:
    """A moved parent carries its descendants' denormalized ancestor ids along."""
    if isinstance(obj, InverterArray):
        Inverter.objects.filter(array=obj).exclude(system=obj.system_id).update(system=obj.system_id)
        Meter.objects.filter(array=obj).exclude(system=obj.system_id).update(system=obj.system_id)
    elif isinstance(obj, BatteryArray):
        for model in (BatteryPack, Battery, BatteryCell):
            model.objects.filter(battery_array=obj).exclude(system=obj.system_id).update(
                system=obj.system_id)
    elif isinstance(obj, BatteryPack):
        for model in (Battery, BatteryCell):
            model.objects.filter(pack=obj).update(battery_array=obj.battery_array_id,
                                                  system=obj.system_id)
    elif isinstance(obj, Battery):
        BatteryCell.objects.filter(battery=obj).update(pack=obj.pack_id,
                                                       battery_array=obj.battery_array_id,
                                                       system=obj.system_id)


def _link_adapter(obj: models.Model) -> None:
    """Record on the adapter which device it reads (``adapters.device_id``/``device_type``)."""
    if isinstance(obj, Inverter | Meter) and obj.adapter_id:
        device_type = (choices.DeviceType.INVERTER if isinstance(obj, Inverter)
                       else choices.DeviceType.METER)
        Adapter.objects.filter(pk=obj.adapter_id).update(device_id=obj.pk, device_type=device_type)
    elif isinstance(obj, BatteryPackAdapter):
        Adapter.objects.filter(pk=obj.adapter_id).update(
            device_id=obj.pack_id, device_type=choices.DeviceType.BATTERY_PACK, priority=obj.priority,
            enabled=obj.enabled)


def sync_adapter_types() -> int:
    """Make ``adapter_base`` match the registry; the only writer of those rows.

    Idempotent: unchanged rows are not written. Returns the number of rows written.
    """
    from adapters.registry import ADAPTER_TYPES

    written = 0
    for spec in ADAPTER_TYPES.values():
        values = {
            "device_category": spec.device_category,
            "name": spec.name,
            "description": spec.description,
            "config_schema": spec.config_schema,
            "supported_transports": list(spec.supported_transports),
            "default_config": spec.default_config,
            "version": spec.version,
            "default_poll_interval_s": spec.default_poll_interval_s,
        }
        row = AdapterType.objects.filter(pk=spec.adapter_type).first()
        if row is None:
            AdapterType.objects.create(adapter_type=spec.adapter_type, **values)
            written += 1
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.save()
            written += 1
    return written


@transaction.atomic
def ensure_default_structure() -> list[str]:
    """Create the default structure of spec §6.5 when no system exists.

    Never touches an existing configuration. Returns what it created (empty when nothing).
    """
    if System.objects.exists():
        return []
    system = save_entity(System(system_id=constants.DEFAULT_SYSTEM_ID, name=constants.DEFAULT_SYSTEM_NAME,
                                description=constants.DEFAULT_SYSTEM_DESCRIPTION,
                                timezone=constants.DEFAULT_TIMEZONE))
    array = save_entity(InverterArray(array_id=constants.DEFAULT_ARRAY_ID, system=system,
                                      name=constants.DEFAULT_ARRAY_NAME))
    battery_array = save_entity(BatteryArray(battery_array_id=constants.DEFAULT_BATTERY_ARRAY_ID,
                                             system=system, name=constants.DEFAULT_BATTERY_ARRAY_NAME))
    save_entity(BatteryArrayAttachment(battery_array=battery_array, inverter_array=array,
                                       attached_since=timezone.now()))
    created = [f"system {system.pk}", f"array {array.pk}", f"battery array {battery_array.pk}",
               f"attachment {battery_array.pk} → {array.pk}"]
    log.info("created the default structure: %s", ", ".join(created))
    return created


@transaction.atomic
def ensure_pack_units(pack: BatteryPack, batteries: int, cells_per_battery: int) -> tuple[int, int]:
    """Create the ``batteries`` and ``battery_cells`` rows a pack needs (spec §9.5).

    Existing rows are kept; ids are ``{pack}_b{i}`` and ``{pack}_b{i}_c{j}``. Returns the
    numbers of batteries and cells created.
    """
    made_batteries = made_cells = 0
    for index in range(batteries):
        battery = Battery.objects.filter(pack=pack, battery_index=index).first()
        if battery is None:
            battery = save_entity(Battery(battery_id=f"{pack.pk}_b{index}", pack=pack, battery_index=index))
            made_batteries += 1
        existing = set(battery.cells.values_list("cell_index", flat=True))
        for cell_index in range(cells_per_battery):
            if cell_index not in existing:
                save_entity(BatteryCell(cell_id=f"{battery.pk}_c{cell_index}", battery=battery,
                                        cell_index=cell_index))
                made_cells += 1
    return made_batteries, made_cells
