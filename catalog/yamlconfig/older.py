"""The original's older pack shape: ``battery_packs:`` (the packs and their units) and
``attachments:`` (each pack attached straight to an inverter array).

solarmon attaches battery arrays, not packs, to inverter arrays. A pack of this shape that no
``battery_bank_arrays`` entry lists goes into a battery array made for the inverter array it
is attached to, and its attachments become that battery array's. A ``battery_packs`` entry and a
battery bank with the same id are one pack: the bank gives its adapters, the entry its
chemistry, capacity and units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalog.yamlconfig import original
from catalog.yamlconfig.context import Context
from catalog.yamlconfig.fields import MISSING, Item, mapping_items
from catalog.yamlconfig.structure import default_battery_array

PACK_KEYS = ("id", "name", "chemistry", "nominal_kwh", "max_charge_kw", "max_discharge_kw", "units")
UNIT_KEYS = ("serial",)
ATTACHMENT_KEYS = ("pack_id", "array_id", "attached_since", "detached_at")


@dataclass
class OlderPack:
    """One ``battery_packs`` entry: its column values and its units' serial numbers."""

    item: Item
    values: dict[str, Any]
    serials: list[str | None] | None


@dataclass
class OlderPacks:
    """The older shape of a file: its packs by id, and attachments rewritten for battery arrays."""

    packs: dict[str, OlderPack] = field(default_factory=dict)
    attachments: list[Item] = field(default_factory=list)


def parse_older_packs(ctx: Context, packs: object, attachments: object) -> OlderPacks:
    """Read ``battery_packs`` and ``attachments``; place the attached packs in battery arrays."""
    result = OlderPacks()
    for item in mapping_items(packs, "battery_packs", ctx.problems):
        _pack(ctx, item, result)
    by_pack: dict[str, list[Item]] = {}
    for item in mapping_items(attachments, "attachments", ctx.problems):
        item.check_keys(ATTACHMENT_KEYS)
        pack_id = item.ident("pack_id", required=True)
        array_id = item.ident("array_id", required=True)
        if array_id is not None and array_id not in ctx.arrays:
            item.error("array_id", f"unknown array {array_id!r}")
        elif pack_id is not None and array_id is not None:
            by_pack.setdefault(pack_id, []).append(item)
    seen: set[tuple[Any, ...]] = set()
    for pack_id, items in by_pack.items():
        current = _current(items)
        listed = ctx.pack_members.get(pack_id)
        ba_id = listed[0] if listed else default_battery_array(ctx, current.path, current.raw("array_id"))
        if listed is None:
            ctx.pack_members[pack_id] = (ba_id, current.at("pack_id"))
        for item in items:
            values = {"battery_bank_array_id": ba_id, "inverter_array_id": item.raw("array_id"),
                      **{key: item.raw(key) for key in ("attached_since", "detached_at")
                         if item.raw(key) is not MISSING}}
            key = tuple(str(value) for value in values.values())
            if key not in seen:
                seen.add(key)
                result.attachments.append(Item(values, item.path, ctx.problems))
    return result


def _pack(ctx: Context, item: Item, result: OlderPacks) -> None:
    item.check_keys(PACK_KEYS)
    pack_id = item.ident("id", required=True)
    if pack_id is None:
        return
    if pack_id in result.packs:
        item.error("id", f"duplicate battery pack id {pack_id!r} (first declared at "
                   f"{result.packs[pack_id].item.path})")
        return
    values = {"name": item.text("name"), "chemistry": item.text("chemistry"),
              **{key: item.number(key, minimum=0) for key in ("nominal_kwh", "max_charge_kw",
                                                            "max_discharge_kw")}}
    serials = None
    if item.has("units"):
        serials = []
        for unit in mapping_items(item.raw("units"), item.at("units"), ctx.problems):
            unit.check_keys(UNIT_KEYS, original.PACK_UNIT)
            serials.append(unit.text("serial"))
    result.packs[pack_id] = OlderPack(item, values, serials)


def _current(items: list[Item]) -> Item:
    """The attachment that says where the pack is now: the active one, else the latest."""
    active = [item for item in items if item.raw("detached_at") in (MISSING, None)]
    if active:
        return active[-1]
    return max(items, key=lambda item: _sortable(item.raw("attached_since")))


def _sortable(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value not in (MISSING, None) else ""
