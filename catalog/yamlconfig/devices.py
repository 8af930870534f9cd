"""Inverters, battery banks (packs) and meters of a config file."""

from __future__ import annotations

from typing import Any

from catalog.choices import SYSTEM_TARGET, DeviceCategory, MeterType, PhaseType
from catalog.yamlconfig import original
from catalog.yamlconfig.adapters_yaml import device_adapter, parse_adapter, use_adapter
from catalog.yamlconfig.context import Context
from catalog.yamlconfig.desired import PackUnits, Row
from catalog.yamlconfig.fields import Item, mapping_items
from catalog.yamlconfig.older import OlderPack, OlderPacks
from catalog.yamlconfig.structure import default_array, default_battery_array

INVERTER_KEYS = ("id", "name", "system_id", "home_id", "array_id", "adapter", "adapter_id", "model",
                 "serial_number", "vendor", "phase_type", "rated_power_w")
PACK_KEYS = ("id", "name", "system_id", "home_id", "battery_array_id", "adapter", "adapter_id", "adapters",
             "batteries", "cells_per_battery", "chemistry", "nominal_kwh", "max_charge_kw",
             "max_discharge_kw", "model", "manufacturer")
PACK_NUMBERS = ("nominal_kwh", "max_charge_kw", "max_discharge_kw")
# The original's failover form: {adapter: {...}, priority: 1, enabled: true}.
NESTED_LINK_KEYS = ("adapter", "priority", "enabled")
# The original's id of a battery bank that gives none.
ORIGINAL_PACK_ID = "battery"
METER_KEYS = ("id", "name", "system_id", "home_id", "array_id", "adapter", "adapter_id",
              "attachment_target", "type", "model", "serial_number")
LINK_KEYS = ("adapter_id", "priority", "enabled")
SYSTEM_WORDS = ("home", SYSTEM_TARGET)


def parse_inverters(ctx: Context, section: object) -> None:
    """``inverters:`` → ``inverters`` rows (and their inline adapters)."""
    for item in mapping_items(section, "inverters", ctx.problems):
        item.check_keys(INVERTER_KEYS, original.INVERTER)
        inverter_id = item.ident("id", required=True)
        if inverter_id is None:
            continue
        placed = item.has("array_id") or inverter_id in ctx.inverter_members
        if not placed and not ctx.declared(ctx.arrays):
            array_id: str | None = default_array(ctx, item.path)  # the original's files may have no arrays
        else:
            array_id = _group(ctx, item, inverter_id, "array_id", ctx.arrays, ctx.inverter_members,
                              ctx.listed_arrays, "array", "arrays[].inverter_ids")
        if array_id is not None:
            ctx.check_system(item, ctx.system_id, f"array {array_id!r}")
        values = {"inverter_id": inverter_id, "array_id": array_id, "system_id": ctx.system_id,
                  "adapter_id": device_adapter(ctx, item, inverter_id, DeviceCategory.INVERTER),
                  "name": item.text("name") or inverter_id, "model": item.text("model"),
                  "serial_number": item.text("serial_number"), "vendor": item.text("vendor"),
                  "phase_type": item.choice("phase_type", PhaseType.values),
                  "rated_power_w": item.number("rated_power_w", minimum=0)}
        ctx.declare(ctx.inverters, Row("inverters", (inverter_id,), values, item.path,
                                       _paths(item, INVERTER_KEYS)), item, "inverter")


def parse_packs(ctx: Context, banks: list[Item], older: OlderPacks | None = None) -> None:
    """Battery banks → ``battery_packs`` rows, their adapter links and their units.

    ``older`` holds the original's ``battery_packs`` entries: one with a bank's id adds its
    values to that bank, the others become packs without an adapter.
    """
    older = older or OlderPacks()
    for item in banks:
        item.check_keys(PACK_KEYS)
        pack_id = _pack_id(ctx, item)
        if pack_id is not None:
            _pack(ctx, item, pack_id, older.packs.pop(pack_id, None))
    for pack_id, entry in older.packs.items():
        _pack(ctx, Item({}, entry.item.path, ctx.problems), pack_id, entry)


def _pack_id(ctx: Context, item: Item) -> str | None:
    if item.has("id"):
        return item.ident("id", required=True)
    ctx.problems.note(item.path, f"no id: the pack gets the original's default id {ORIGINAL_PACK_ID!r}")
    return ORIGINAL_PACK_ID


def _pack(ctx: Context, item: Item, pack_id: str, older: OlderPack | None) -> None:
    if not ctx.declared(ctx.battery_arrays) and not item.has("battery_array_id") and \
            pack_id not in ctx.pack_members:
        ba_id: str | None = default_battery_array(ctx, item.path)
    else:
        ba_id = _group(ctx, item, pack_id, "battery_array_id", ctx.battery_arrays, ctx.pack_members,
                       ctx.listed_battery_arrays, "battery bank array",
                       "battery_bank_arrays[].battery_bank_ids")
    if ba_id is not None:
        ctx.check_system(item, ctx.system_id, f"battery bank array {ba_id!r}")
    values = {"pack_id": pack_id, "battery_array_id": ba_id, "system_id": ctx.system_id,
              "name": item.text("name"), "chemistry": item.text("chemistry"),
              **{key: item.number(key, minimum=0) for key in PACK_NUMBERS},
              "model": item.text("model"), "manufacturer": item.text("manufacturer")}
    if older is not None:
        _merge(item, values, older.values, older.item)
    values["name"] = values["name"] or pack_id
    row = Row("battery_packs", (pack_id,), values, item.path, _paths(item, PACK_KEYS))
    if ctx.declare(ctx.packs, row, item, "battery bank") is None:
        return
    adapter_ids = _pack_adapters(ctx, item, pack_id)
    from_adapters: dict[str, Any] = {}
    for adapter_id in adapter_ids:
        for key, value in ctx.adapter_pack_values.get(adapter_id, {}).items():
            from_adapters.setdefault(key, value)
    for key in ("model", "manufacturer"):
        if values[key] is None and from_adapters.get(key) is not None:
            values[key] = str(from_adapters[key])
    _pack_units(ctx, item, pack_id, older, _adapter_units(ctx, adapter_ids, from_adapters))


def _merge(item: Item, values: dict[str, Any], older: dict[str, Any], older_item: Item) -> None:
    """Fill a bank's values from its ``battery_packs`` entry; where both give one, the bank's wins."""
    for key, value in older.items():
        if value is None:
            continue
        if values.get(key) is not None and values[key] != value:
            item.problems.warn(older_item.at(key), f"{item.at(key)} ({values[key]!r}) is used")
        else:
            values[key] = value


def _adapter_units(ctx: Context, adapter_ids: list[str], from_adapters: dict[str, Any]
                   ) -> tuple[int | None, int | None]:
    """Batteries and cells per battery as the pack's first adapter spells them out (the original's
    place for them), else ``None``."""
    for adapter_id in adapter_ids:
        config = ctx.adapters[adapter_id].values["config_json"]
        batteries = from_adapters.get("batteries", config.get("batteries"))
        if isinstance(batteries, int) and not isinstance(batteries, bool):
            cells = config.get("cells_per_battery")
            return batteries, cells if isinstance(cells, int) and not isinstance(cells, bool) else None
    return None, None


def _pack_units(ctx: Context, item: Item, pack_id: str, older: OlderPack | None,
                from_adapter: tuple[int | None, int | None]) -> None:
    batteries = item.integer("batteries", minimum=0)
    cells = item.integer("cells_per_battery", minimum=0)
    serials = older.serials if older is not None else None
    if batteries is None and serials is not None:
        batteries = len(serials)
    if batteries is None and from_adapter[0] is not None:
        batteries = from_adapter[0]
    if cells is None and batteries is not None:
        cells = from_adapter[1]
    if cells and batteries is None:
        item.error("cells_per_battery", "needs batteries (the number of battery units)")
    elif batteries is not None:
        ctx.desired.units.append(PackUnits(pack_id, batteries, cells or 0, item.path, serials or []))


def _pack_adapters(ctx: Context, item: Item, pack_id: str) -> list[str]:
    """``adapter:``, ``adapter_id:`` or an ``adapters:`` list → ``battery_pack_adapters`` rows."""
    given = [key for key in ("adapter", "adapter_id", "adapters") if item.has(key)]
    if len(given) > 1:
        item.error(given[1], f"give only one of adapter, adapter_id and adapters (found {', '.join(given)})")
        return []
    if given in (["adapter"], ["adapter_id"]):
        adapter_id = device_adapter(ctx, item, pack_id, DeviceCategory.BATTERY)
        if adapter_id is not None:
            _link(ctx, item.at(given[0]), pack_id, adapter_id, 1, True)
            return [adapter_id]
        return []
    linked = []
    for position, entry in enumerate(mapping_items(item.raw("adapters") if given else None,
                                                   item.at("adapters"), ctx.problems), start=1):
        adapter_id = _pack_adapter_entry(ctx, entry, pack_id, position)
        if adapter_id is not None:
            linked.append(adapter_id)
    return linked


def _pack_adapter_entry(ctx: Context, entry: Item, pack_id: str, position: int) -> str | None:
    if entry.has("adapter_id"):
        entry.check_keys(LINK_KEYS)
        adapter_id = entry.ident("adapter_id")
        priority, enabled = entry.integer("priority", position), entry.boolean("enabled", True)
    elif isinstance(entry.raw("adapter"), dict):
        # The original's form: the adapter mapping nested under `adapter`, its link beside it.
        entry.check_keys(NESTED_LINK_KEYS)
        inner = Item(entry.raw("adapter"), entry.at("adapter"), ctx.problems)
        adapter_id = parse_adapter(ctx, inner, f"{pack_id}_adapter_{position}", DeviceCategory.BATTERY,
                                   default_priority=position)
        priority, enabled = entry.integer("priority", position), entry.boolean("enabled", True)
    else:
        # An inline adapter carries its own priority/enabled (read once, by parse_adapter).
        adapter_id = parse_adapter(ctx, entry, f"{pack_id}_adapter_{position}", DeviceCategory.BATTERY,
                                   default_priority=position)
        if adapter_id is None:
            return None
        declared = ctx.adapters[adapter_id].values
        priority, enabled = declared["priority"], declared["enabled"]
    if adapter_id is not None and use_adapter(ctx, adapter_id, entry.path, pack_id, DeviceCategory.BATTERY,
                                              priority, enabled):
        _link(ctx, entry.path, pack_id, adapter_id, priority, enabled)
        return adapter_id
    return None


def _link(ctx: Context, path: str, pack_id: str, adapter_id: str, priority: int | None,
          enabled: bool) -> None:
    values = {"pack_id": pack_id, "adapter_id": adapter_id, "priority": priority, "enabled": enabled}
    ctx.desired.add(Row("battery_pack_adapters", (pack_id, adapter_id), values, path,
                        {"priority": f"{path}.priority", "enabled": f"{path}.enabled"}))


def parse_meters(ctx: Context, section: object) -> None:
    """``meters:`` → ``meters`` rows; ``array_id`` null, ``home`` or ``system`` means system level."""
    for item in mapping_items(section, "meters", ctx.problems):
        item.check_keys(METER_KEYS)
        meter_id = item.ident("id", required=True)
        if meter_id is None:
            continue
        array_id = _meter_array(ctx, item)
        ctx.check_system(item, ctx.system_id, f"array {array_id!r}" if array_id else "this file (home.id)")
        values = {"meter_id": meter_id, "system_id": ctx.system_id, "array_id": array_id,
                  "adapter_id": device_adapter(ctx, item, meter_id, DeviceCategory.METER),
                  "name": item.text("name") or meter_id, "model": item.text("model"),
                  "type": item.choice("type", MeterType.values),
                  "attachment_target": array_id or SYSTEM_TARGET,
                  "serial_number": item.text("serial_number")}
        ctx.declare(ctx.meters, Row("meters", (meter_id,), values, item.path, _paths(item, METER_KEYS)),
                    item, "meter")


def _meter_array(ctx: Context, item: Item) -> str | None:
    """The meter's array, from ``array_id`` or ``attachment_target``; the two must agree."""
    array_id = _meter_target(ctx, item, "array_id")
    if not item.has("attachment_target"):
        return array_id
    target = _meter_target(ctx, item, "attachment_target")
    if item.has("array_id") and target != array_id:
        item.error("attachment_target", f"{item.raw('attachment_target')!r} disagrees with array_id "
                   f"({array_id or SYSTEM_TARGET!r})")
    return array_id if item.has("array_id") else target


def _meter_target(ctx: Context, item: Item, key: str) -> str | None:
    value = item.ident(key)
    if value is None or (value in SYSTEM_WORDS and value not in ctx.arrays):
        return None
    if value not in ctx.arrays:
        item.error(key, f"unknown array {value!r}")
        return None
    return value


def _group(ctx: Context, item: Item, member_id: str, key: str, registry: dict[str, Row],
           members: dict[str, tuple[str, str]], listed: set[str], what: str, list_name: str) -> str | None:
    """A device's parent from its own ``key`` and the parents' member lists, which must agree."""
    own = item.ident(key)
    if own is not None and own not in registry:
        item.error(key, f"unknown {what} {own!r}")
        return None
    listed_in = members.get(member_id)
    if own is None and listed_in is None:
        item.error(key, f"required (or list {member_id!r} in {list_name})")
        return None
    if own is not None and listed_in is not None and listed_in[0] != own:
        item.error(key, f"{own!r} disagrees with {listed_in[1]}, which puts {member_id!r} in "
                   f"{listed_in[0]!r}")
        return None
    if own is not None and listed_in is None and own in listed:
        item.error(key, f"{what} {own!r} lists its members, and {member_id!r} is not among them")
        return None
    return own if own is not None else listed_in[0] if listed_in else None


def _paths(item: Item, keys: tuple[str, ...]) -> dict[str, str]:
    paths = {key.removesuffix("_id"): item.at(key) for key in keys}
    paths["system"] = item.at(item.first_key("system_id", "home_id"))
    return paths
