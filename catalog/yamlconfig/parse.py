"""A whole config file → :class:`Desired`, or every problem in it.

The file describes one system (``home:`` or ``system:``) completely; references resolve
within the file. Older spellings are accepted: ``home_id`` for ``system_id``,
``arrays[].inverter_ids`` beside ``inverters[].array_id`` (they must agree), and so on.
"""

from __future__ import annotations

from typing import Any

from catalog import constants
from catalog.yamlconfig.adapters_yaml import parse_adapter
from catalog.yamlconfig.context import Context
from catalog.yamlconfig.desired import Desired
from catalog.yamlconfig.devices import parse_inverters, parse_meters, parse_packs
from catalog.yamlconfig.fields import Item, mapping_items, type_name
from catalog.yamlconfig.loader import load_yaml
from catalog.yamlconfig.problems import Problems
from catalog.yamlconfig.structure import (
    parse_arrays,
    parse_attachments,
    parse_battery_arrays,
    parse_system,
)

SECTIONS = ("home", "system", "arrays", "inverters", "battery_bank_arrays", "battery_banks",
            "battery_bank_array_attachments", "meters", "adapters")


def parse_config(text: str, filename: str) -> Desired:
    """Read and check one config file. Raises ``ImportFailed`` with every problem found."""
    problems = Problems(filename)
    data = load_yaml(text, problems)
    problems.raise_if_any()
    ctx = Context(problems, Desired(constants.DEFAULT_SYSTEM_ID))
    if not isinstance(data, dict):
        problems.add("", "the file must be a mapping with a 'home' section, got "
                     f"{type_name(data) if data is not None else 'an empty file'}")
        problems.raise_if_any()
    _parse_sections(ctx, data)
    problems.raise_if_any()
    ctx.desired.lines = problems.lines
    return ctx.desired


def _parse_sections(ctx: Context, data: dict[str, Any]) -> None:
    Item(data, "", ctx.problems).check_keys(SECTIONS)
    _parse_home(ctx, data)
    for entry in mapping_items(data.get("adapters"), "adapters", ctx.problems):
        parse_adapter(ctx, entry, None)
    parse_arrays(ctx, data.get("arrays"))
    parse_battery_arrays(ctx, data.get("battery_bank_arrays"))
    parse_inverters(ctx, data.get("inverters"))
    parse_packs(ctx, data.get("battery_banks"))
    parse_attachments(ctx, data.get("battery_bank_array_attachments"))
    parse_meters(ctx, data.get("meters"))
    _check_members(ctx)


def _parse_home(ctx: Context, data: dict[str, Any]) -> None:
    keys = [key for key in ("home", "system") if key in data]
    if not keys:
        ctx.problems.add("home", "required: the system this file describes (id, name, timezone)")
        return
    if len(keys) == 2:
        ctx.problems.add("system", "give either home or system, not both")
    home = data[keys[0]]
    if not isinstance(home, dict):
        ctx.problems.add(keys[0], f"expected a mapping, got {type_name(home)}")
        return
    parse_system(ctx, Item(home, keys[0], ctx.problems))


def _check_members(ctx: Context) -> None:
    """Every id in ``inverter_ids``/``battery_bank_ids`` must be declared."""
    for member_id, (_, path) in ctx.inverter_members.items():
        if member_id not in ctx.inverters:
            ctx.problems.add(path, f"unknown inverter {member_id!r}")
    for member_id, (_, path) in ctx.pack_members.items():
        if member_id not in ctx.packs:
            ctx.problems.add(path, f"unknown battery bank {member_id!r}")
