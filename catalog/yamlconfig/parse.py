"""A whole config file → :class:`Desired`, or every problem in it.

The file describes one system (``home:`` or ``system:``) completely; references resolve
within the file. Older spellings are accepted: ``home_id`` for ``system_id``,
``arrays[].inverter_ids`` beside ``inverters[].array_id`` (they must agree), and so on.

The original system's config.yaml is read as it is (:mod:`catalog.yamlconfig.original`): its
top-level ``timezone``, ``polling``, ``battery_bank`` (one bank), the older ``battery_packs`` +
``attachments``, the sections other apps own (``mqtt``, ``discovery``), and the parts solarmon
has no place for, which are warnings. A file without ``home:`` that has the original's
required ``mqtt:`` section is the original's: its system gets the original's default id ``home``.
"""

from __future__ import annotations

from typing import Any

from catalog import constants
from catalog.yamlconfig import original
from catalog.yamlconfig.adapters_yaml import parse_adapter
from catalog.yamlconfig.context import Context
from catalog.yamlconfig.desired import Desired
from catalog.yamlconfig.devices import parse_inverters, parse_meters, parse_packs
from catalog.yamlconfig.fields import Item, mapping_items, type_name
from catalog.yamlconfig.loader import load_yaml
from catalog.yamlconfig.older import parse_older_packs
from catalog.yamlconfig.problems import Problems
from catalog.yamlconfig.sections import SECTIONS as SETTINGS_SECTIONS
from catalog.yamlconfig.structure import (
    parse_arrays,
    parse_attachments,
    parse_battery_arrays,
    parse_system,
)

SECTIONS = ("home", "system", "arrays", "inverters", "battery_bank_arrays", "battery_banks",
            "battery_bank_array_attachments", "meters", "adapters")
# The original's sections that solarmon imports (besides the ones other apps register).
ORIGINAL_SECTIONS = ("timezone", "polling", "battery_bank", "battery_packs", "attachments")
POLLING_KEYS = ("interval_secs",)
ORIGINAL_HOME_ID = "home"


def parse_config(text: str, filename: str, *, strict: bool = False) -> Desired:
    """Read and check one config file. Raises ``ImportFailed`` with every problem found."""
    problems = Problems(filename, strict=strict)
    data = load_yaml(text, problems)
    problems.raise_if_any()
    return parse_data(data, problems)


def parse_data(data: Any, problems: Problems) -> Desired:
    """Check already-loaded config data (a mapping); ``problems`` names the file and its lines."""
    ctx = Context(problems, Desired(constants.DEFAULT_SYSTEM_ID))
    if not isinstance(data, dict):
        problems.add("", "the file must be a mapping with a 'home' section, got "
                     f"{type_name(data) if data is not None else 'an empty file'}")
        problems.raise_if_any()
    _parse_sections(ctx, data)
    problems.raise_if_any()
    ctx.desired.lines = problems.lines
    ctx.desired.warnings = list(problems.warnings)
    ctx.desired.notes = list(problems.notes)
    return ctx.desired


def _parse_sections(ctx: Context, data: dict[str, Any]) -> None:
    not_installed = {key: why for key, why in original.UNREGISTERED.items() if key not in SETTINGS_SECTIONS}
    Item(data, "", ctx.problems).check_keys((*SECTIONS, *ORIGINAL_SECTIONS, *SETTINGS_SECTIONS),
                                            {**original.TOP_LEVEL, **not_installed})
    _parse_polling(ctx, data.get("polling"))
    _parse_home(ctx, data)
    for entry in mapping_items(data.get("adapters"), "adapters", ctx.problems):
        parse_adapter(ctx, entry, None)
    parse_arrays(ctx, data.get("arrays"))
    parse_battery_arrays(ctx, data.get("battery_bank_arrays"))
    parse_inverters(ctx, data.get("inverters"))
    older = parse_older_packs(ctx, data.get("battery_packs"), data.get("attachments"))
    parse_packs(ctx, _banks(ctx, data), older)
    section = data.get("battery_bank_array_attachments")
    parse_attachments(ctx, section, [*older.attachments, *_default_attachment(ctx, section)])
    parse_meters(ctx, data.get("meters"))
    _parse_settings(ctx, data)
    _check_members(ctx)


def _banks(ctx: Context, data: dict[str, Any]) -> list[Item]:
    """``battery_banks:`` items, plus the oldest shape's single ``battery_bank:``."""
    banks = mapping_items(data.get("battery_banks"), "battery_banks", ctx.problems)
    single = data.get("battery_bank")
    if single is None:
        return banks
    if not isinstance(single, dict):
        ctx.problems.add("battery_bank", f"expected a mapping (one battery bank), got {type_name(single)}")
        return banks
    return [*banks, Item(single, "battery_bank", ctx.problems)]


def _default_attachment(ctx: Context, section: Any) -> list[Item]:
    """The default battery array, made up for packs the file places nowhere, is attached to the
    file's one inverter array (spec §6.5), unless the file attaches it itself."""
    ba_id = constants.DEFAULT_BATTERY_ARRAY_ID
    if ba_id not in ctx.defaulted or ba_id in ctx.older_targets or len(ctx.arrays) != 1:
        return []
    listed = section if isinstance(section, list) else []
    if any(isinstance(a, dict) and ba_id in (a.get("battery_bank_array_id"), a.get("battery_array_id"))
           for a in listed):
        return []
    array_id = next(iter(ctx.arrays))
    path = "battery_bank_array_attachments"
    ctx.problems.note(path, f"battery array {ba_id!r} is attached to array {array_id!r}")
    return [Item({"battery_bank_array_id": ba_id, "inverter_array_id": array_id}, path, ctx.problems)]


def _parse_polling(ctx: Context, section: Any) -> None:
    """The original's ``polling.interval_secs``: the poll interval of every adapter without its own."""
    if section is None:
        return
    if not isinstance(section, dict):
        ctx.problems.add("polling", f"expected a mapping, got {type_name(section)}")
        return
    item = Item(section, "polling", ctx.problems)
    item.check_keys(POLLING_KEYS, original.POLLING)
    interval = item.number("interval_secs", minimum=0.5)
    if interval is not None and interval < 1:
        item.problems.note(item.at("interval_secs"), f"{interval:g} s is below solarmon's shortest poll "
                           "interval; adapters are polled every 1 s")
        interval = 1.0
    ctx.default_poll_interval = interval


def _parse_home(ctx: Context, data: dict[str, Any]) -> None:
    keys = [key for key in ("home", "system") if key in data]
    zone = data.get("timezone")
    if not keys and "mqtt" in data:
        # The original's file: its system defaults to the id "home".
        ctx.problems.note("", f"no home section: the system gets the original's default id "
                          f"{ORIGINAL_HOME_ID!r}")
        parse_system(ctx, Item({"id": ORIGINAL_HOME_ID}, "home", ctx.problems), zone)
        return
    if not keys:
        ctx.problems.add("home", "required: the system this file describes (id, name, timezone)")
        return
    if len(keys) == 2:
        ctx.problems.add("system", "give either home or system, not both")
    home = data[keys[0]]
    if not isinstance(home, dict):
        ctx.problems.add(keys[0], f"expected a mapping, got {type_name(home)}")
        return
    parse_system(ctx, Item(home, keys[0], ctx.problems), zone)


def _parse_settings(ctx: Context, data: dict[str, Any]) -> None:
    """Sections other apps own (``mqtt:``, ``discovery:``), each read by its registered section."""
    for key, section in SETTINGS_SECTIONS.items():
        if data.get(key) is None:
            continue
        if not isinstance(data[key], dict):
            ctx.problems.add(key, f"expected a mapping, got {type_name(data[key])}")
            continue
        values = section.parse(Item(data[key], key, ctx.problems))
        if values is not None:
            ctx.desired.settings[key] = values


def _check_members(ctx: Context) -> None:
    """Every id in ``inverter_ids``/``battery_bank_ids`` must be declared."""
    for member_id, (_, path) in ctx.inverter_members.items():
        if member_id not in ctx.inverters:
            ctx.problems.add(path, f"unknown inverter {member_id!r}")
    for member_id, (_, path) in ctx.pack_members.items():
        if member_id not in ctx.packs:
            ctx.problems.add(path, f"unknown battery bank {member_id!r}")
