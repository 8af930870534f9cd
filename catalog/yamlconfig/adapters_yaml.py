"""Adapter mappings: inline ``adapter:``, ``adapters:`` lists of packs, and the top-level list.

An adapter mapping holds ``type`` plus the type's config keys (``transport``, ``host``, ...),
stored as ``adapters.config_json`` without ``type`` (the ``adapter_type`` column holds it).
``id``, ``name``, ``priority``, ``enabled``, ``poll_interval_s`` and ``collector`` are columns
of the ``adapters`` row, not config: ``poll_interval_s`` is what the poll schedule reads, and
``collector`` names the host that polls it (a collector not registered yet is created).
"""

from __future__ import annotations

import re
from typing import Any

from adapters.registry import ADAPTER_TYPES, validate_config
from catalog.choices import CATEGORY_DEVICE_TYPE, DeviceCategory
from catalog.yamlconfig.context import Context
from catalog.yamlconfig.desired import Row
from catalog.yamlconfig.fields import Item
from catalog.yamlconfig.original import translate_adapter

COLUMN_KEYS = ("id", "type", "name", "priority", "enabled", "poll_interval_s", "collector")
_UNEXPECTED = re.compile(r"\('([^']+)'")


def parse_adapter(ctx: Context, item: Item, default_id: str | None, category: str | None = None,
                  default_priority: int = 1) -> str | None:
    """Declare the adapter described by ``item``; return its id (``None`` when unusable)."""
    if item.has("id") or default_id is None:
        adapter_id = item.ident("id", required=True)
    else:
        adapter_id = default_id
    config = {key: value for key, value in item.data.items() if key not in COLUMN_KEYS}
    translated = translate_adapter(item, item.text("type", required=True), config)
    if translated.adapter_type is None and item.text("type") is not None:
        return None  # solarmon cannot read the device this way (reported as not imported)
    adapter_type, config = translated.adapter_type, translated.config
    if adapter_type is not None and adapter_type not in ADAPTER_TYPES:
        known = ", ".join(sorted(ADAPTER_TYPES))
        item.error("type", f"unknown adapter type {adapter_type!r} (known: {known})")
        adapter_type = None
    spec = ADAPTER_TYPES.get(adapter_type) if adapter_type else None
    if spec is not None and category is not None and spec.device_category != category:
        item.error("type", f"{adapter_type!r} is {_a(spec.device_category)} adapter, "
                   f"not {_a(category)} adapter")
        spec = None
    poll = item.number("poll_interval_s")
    if poll is None and not item.has("poll_interval_s"):
        poll = ctx.default_poll_interval  # the original's one interval for every device
    if adapter_type is not None:
        checked = {**config, **({"poll_interval_s": poll} if poll is not None else {})}
        for problem in validate_config(adapter_type, checked):
            _report_config_problem(item, problem)
    values: dict[str, Any] = {
        "adapter_id": adapter_id, "adapter_type_id": adapter_type,
        "device_category": spec.device_category if spec else None, "name": item.text("name"),
        "config_json": config, "poll_interval_s": poll,
        "priority": item.integer("priority", default_priority), "enabled": item.boolean("enabled", True),
        "collector_id": item.ident("collector"), "device_id": None, "device_type": None}
    if adapter_id is None:
        return None
    row = Row("adapters", (adapter_id,), values, item.path,
              {"adapter_type": item.at("type"), "config_json": item.path, "name": item.at("name"),
               "poll_interval_s": item.at("poll_interval_s"), "collector": item.at("collector")})
    # A derived id ({device}_adapter) is not in the file: report the clash at the mapping.
    if ctx.declare(ctx.adapters, row, item, "adapter", "id" if item.has("id") else "") is None:
        return None
    ctx.adapter_pack_values[adapter_id] = translated.pack
    return adapter_id if spec is not None else None


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _report_config_problem(item: Item, problem: str) -> None:
    """Place a schema problem (``"port: 'x' is not of type 'integer'"``) at its YAML path."""
    field, _, message = problem.partition(": ")
    if field == "(config)":
        unexpected = _UNEXPECTED.search(message)
        item.error(unexpected.group(1) if unexpected else "", message)
    else:
        item.error(field, message)


def use_adapter(ctx: Context, adapter_id: str, path: str, device_id: str, category: str,
                priority: int | None = None, enabled: bool | None = None) -> bool:
    """Record that ``device_id`` reads through ``adapter_id``; report unknown, misfit or shared ones."""
    row = ctx.adapters.get(adapter_id)
    if row is None:
        ctx.problems.add(path, f"unknown adapter {adapter_id!r}")
        return False
    found = row.values["device_category"]
    if found is not None and found != category:
        ctx.problems.add(path, f"adapter {adapter_id!r} is {_a(found)} adapter, not {_a(category)} adapter")
        return False
    if adapter_id in ctx.adapter_users:
        ctx.problems.add(path, f"adapter {adapter_id!r} is already used by {ctx.adapter_users[adapter_id]}")
        return False
    ctx.adapter_users[adapter_id] = path
    row.values["device_id"] = device_id
    row.values["device_type"] = str(CATEGORY_DEVICE_TYPE[DeviceCategory(category)])
    if priority is not None:
        row.values["priority"] = priority
    if enabled is not None:
        row.values["enabled"] = enabled
    return True


def device_adapter(ctx: Context, item: Item, device_id: str, category: str) -> str | None:
    """An inverter's or meter's adapter: inline ``adapter:`` or a reference ``adapter_id:``."""
    if item.has("adapter") and item.has("adapter_id"):
        item.error("adapter_id", "give either adapter or adapter_id, not both")
        return None
    if item.has("adapter_id"):
        adapter_id = item.ident("adapter_id")
        if adapter_id is not None and use_adapter(ctx, adapter_id, item.at("adapter_id"), device_id,
                                                  category):
            return adapter_id
        return None
    inline = item.raw("adapter")
    if inline is None or not item.has("adapter"):
        return None
    if not isinstance(inline, dict):
        item.error("adapter", "expected a mapping with 'type' and the adapter's config")
        return None
    adapter_id = parse_adapter(ctx, Item(inline, item.at("adapter"), ctx.problems), f"{device_id}_adapter",
                               category)
    if adapter_id is not None and use_adapter(ctx, adapter_id, item.at("adapter"), device_id, category):
        return adapter_id
    return None
