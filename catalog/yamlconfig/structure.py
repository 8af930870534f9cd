"""The system, inverter arrays, battery arrays and attachments of a config file."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from catalog import constants
from catalog.yamlconfig import original
from catalog.yamlconfig.context import Context
from catalog.yamlconfig.desired import Row
from catalog.yamlconfig.fields import MISSING, Item, mapping_items

SYSTEM_KEYS = ("id", "name", "description", "timezone")
ARRAY_KEYS = ("id", "name", "system_id", "home_id", "inverter_ids")
BATTERY_ARRAY_KEYS = ("id", "name", "system_id", "home_id", "battery_bank_ids")
ATTACHMENT_KEYS = ("battery_bank_array_id", "battery_array_id", "inverter_array_id", "attached_since",
                   "detached_at")


def parse_system(ctx: Context, item: Item, top_zone: object = None) -> None:
    """``home:`` (or ``system:``) becomes the ``systems`` row.

    ``top_zone`` is the original's top-level ``timezone``, used when the section gives none.
    """
    item.check_keys(SYSTEM_KEYS)
    system_id = item.ident("id") or constants.DEFAULT_SYSTEM_ID
    ctx.desired.system_id = system_id
    timezone = item.text("timezone") or _top_zone(ctx, item, top_zone) or constants.DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
        ctx.timezone = timezone
    except (ZoneInfoNotFoundError, ValueError):
        item.error("timezone", f"unknown timezone {timezone!r} (use an IANA name such as 'Asia/Karachi')")
    values = {"system_id": system_id, "name": item.text("name") or system_id,
              "description": item.text("description"), "timezone": timezone}
    ctx.desired.add(Row("systems", (system_id,), values, item.path, _paths(item, SYSTEM_KEYS)))


def _top_zone(ctx: Context, item: Item, top_zone: object) -> str | None:
    if top_zone is None:
        return None
    top = Item({"timezone": top_zone}, "", ctx.problems).text("timezone")
    if item.has("timezone") and top is not None and top != item.text("timezone"):
        ctx.problems.warn("timezone", f"{item.at('timezone')} ({item.text('timezone')!r}) is the "
                          "system's timezone")
    return top


def default_array(ctx: Context, path: str) -> str:
    """The default inverter array (spec §6.5), declared once, for devices the file places nowhere."""
    array_id = constants.DEFAULT_ARRAY_ID
    if array_id not in ctx.arrays:
        ctx.problems.note(path, f"placed in the default array {array_id!r}")
        row = Row("arrays", (array_id,), {"array_id": array_id, "system_id": ctx.system_id,
                                          "name": constants.DEFAULT_ARRAY_NAME}, path)
        ctx.arrays[array_id] = ctx.desired.add(row)
        ctx.defaulted.add(array_id)
    return array_id


def default_battery_array(ctx: Context, path: str, array_id: str | None = None) -> str:
    """A battery array for packs the file places nowhere: the default one (spec §6.5), or, for the
    original's older attachments, one per inverter array the packs are attached to."""
    if array_id is not None:
        for ba_id, target in ctx.older_targets.items():
            if target == array_id:
                return ba_id
    ba_id, number = constants.DEFAULT_BATTERY_ARRAY_ID, 1
    while array_id is not None and ba_id in ctx.battery_arrays:
        number += 1
        ba_id = f"battery_array{number}"
    if array_id is not None:
        ctx.older_targets[ba_id] = array_id
    if ba_id not in ctx.battery_arrays:
        name = constants.DEFAULT_BATTERY_ARRAY_NAME if array_id is None else f"Battery packs of {array_id}"
        ctx.problems.note(path, f"placed in the battery array {ba_id!r}")
        row = Row("battery_arrays", (ba_id,), {"battery_array_id": ba_id, "system_id": ctx.system_id,
                                               "name": name}, path)
        ctx.battery_arrays[ba_id] = ctx.desired.add(row)
        ctx.defaulted.add(ba_id)
    return ba_id


def parse_arrays(ctx: Context, section: object) -> None:
    """``arrays:`` → ``arrays`` rows; ``inverter_ids`` is remembered for the agreement check."""
    for item in mapping_items(section, "arrays", ctx.problems):
        item.check_keys(ARRAY_KEYS, original.ARRAY)
        array_id = item.ident("id", required=True)
        ctx.check_system(item, ctx.system_id, "this file (home.id)")
        if array_id is None:
            continue
        row = Row("arrays", (array_id,), {"array_id": array_id, "system_id": ctx.system_id,
                                          "name": item.text("name") or array_id}, item.path,
                  _paths(item, ARRAY_KEYS))
        if ctx.declare(ctx.arrays, row, item, "array") is not None:
            _remember_members(item, "inverter_ids", array_id, ctx.inverter_members, ctx.listed_arrays)


def parse_battery_arrays(ctx: Context, section: object) -> None:
    """``battery_bank_arrays:`` → ``battery_arrays`` rows."""
    for item in mapping_items(section, "battery_bank_arrays", ctx.problems):
        item.check_keys(BATTERY_ARRAY_KEYS)
        ba_id = item.ident("id", required=True)
        ctx.check_system(item, ctx.system_id, "this file (home.id)")
        if ba_id is None:
            continue
        row = Row("battery_arrays", (ba_id,), {"battery_array_id": ba_id, "system_id": ctx.system_id,
                                               "name": item.text("name") or ba_id}, item.path,
                  _paths(item, BATTERY_ARRAY_KEYS))
        if ctx.declare(ctx.battery_arrays, row, item, "battery bank array") is not None:
            _remember_members(item, "battery_bank_ids", ba_id, ctx.pack_members, ctx.listed_battery_arrays)


def _remember_members(item: Item, key: str, group_id: str, members: dict[str, tuple[str, str]],
                      listed: set[str]) -> None:
    ids = item.id_list(key)
    if ids is None:
        return
    listed.add(group_id)
    for member_id, path in ids:
        if member_id in members and members[member_id][0] != group_id:
            item.problems.add(path, f"{member_id!r} is already listed by {members[member_id][0]!r}")
        else:
            members.setdefault(member_id, (group_id, path))


def parse_attachments(ctx: Context, section: object, implied: list[Item] | None = None) -> None:
    """``battery_bank_array_attachments:`` → ``battery_array_attachments`` rows.

    An attachment without ``attached_since`` matches the active attachment of the same
    pair, or starts now; naive times are read in the system's timezone. ``implied`` are
    attachments in this shape made from the original's older pack attachments. Two active
    attachments of the same pair (the original writes its default one beside the configured
    one) are one attachment, since the earlier of the two.
    """
    items = [*mapping_items(section, "battery_bank_array_attachments", ctx.problems), *(implied or [])]
    active_ba: dict[str, str] = {}
    active_ia: dict[str, str] = {}
    seen: dict[tuple[str, datetime], str] = {}
    for item in _merge_same_pair(ctx, items):
        item.check_keys(ATTACHMENT_KEYS)
        ba_key = item.first_key("battery_bank_array_id", "battery_array_id")
        ba_id = _reference(ctx, item, ba_key, ctx.battery_arrays, "battery bank array")
        ia_id = _reference(ctx, item, "inverter_array_id", ctx.arrays, "array")
        since = _aware(ctx, item.timestamp("attached_since"))
        until = _aware(ctx, item.timestamp("detached_at"))
        if until is not None and since is None:
            item.error("attached_since", "required when detached_at is given")
        elif until is not None and since is not None and until <= since:
            item.error("detached_at", "must be after attached_since")
        if ba_id is None or ia_id is None:
            continue
        if since is not None:
            if (ba_id, since) in seen:
                item.error("attached_since", f"duplicate attachment of {ba_id!r} since {since.isoformat()} "
                           f"(also {seen[ba_id, since]})")
                continue
            seen[ba_id, since] = item.path
        if until is None:
            if not _only_active(item, ba_key, ba_id, active_ba, "battery bank array") or \
                    not _only_active(item, "inverter_array_id", ia_id, active_ia, "inverter array"):
                continue
        values = {"battery_array_id": ba_id, "inverter_array_id": ia_id, "attached_since": since,
                  "detached_at": until}
        ctx.desired.add(Row("battery_array_attachments", (ba_id, since), values, item.path,
                            {"battery_array": item.at(ba_key), "inverter_array": item.at("inverter_array_id"),
                             "attached_since": item.at("attached_since"),
                             "detached_at": item.at("detached_at")}))


def _merge_same_pair(ctx: Context, items: list[Item]) -> list[Item]:
    """Drop an active attachment that repeats the pair of an earlier-starting active one."""
    active: dict[tuple[Any, Any], tuple[Item, datetime | None]] = {}
    dropped: set[int] = set()
    for index, item in enumerate(items):
        if item.raw("detached_at") not in (MISSING, None):
            continue
        pair = (item.raw("battery_bank_array_id", "battery_array_id"), item.raw("inverter_array_id"))
        if not all(isinstance(part, str) for part in pair):
            continue
        since = _aware(ctx, _quiet_timestamp(item))
        if pair in active:
            earlier, earlier_since = active[pair]
            keep_new = since is not None and (earlier_since is None or since < earlier_since)
            drop = items.index(earlier) if keep_new else index
            dropped.add(drop)
            kept = item if keep_new else earlier
            ctx.problems.note(items[drop].path, f"the same active attachment as {kept.path}; "
                              "imported once, since the earlier start")
            if keep_new:
                active[pair] = (item, since)
        else:
            active[pair] = (item, since)
    return [item for index, item in enumerate(items) if index not in dropped]


def _quiet_timestamp(item: Item) -> datetime | None:
    """``attached_since`` when it reads as a time (a bad one is reported later, once)."""
    value = item.raw("attached_since")
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _only_active(item: Item, key: str, group_id: str, active: dict[str, str], what: str) -> bool:
    if group_id in active:
        item.error(key, f"{what} {group_id!r} already has an active attachment ({active[group_id]}); "
                   "give the older one a detached_at")
        return False
    active[group_id] = item.path
    return True


def _reference(ctx: Context, item: Item, key: str, registry: dict[str, Row], what: str) -> str | None:
    ref = item.ident(key, required=True)
    if ref is not None and ref not in registry:
        item.error(key, f"unknown {what} {ref!r}")
        return None
    return ref


def _aware(ctx: Context, moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(ctx.timezone))


def _paths(item: Item, keys: tuple[str, ...]) -> dict[str, str]:
    """Model field name → YAML path, for mapping a save-time validation error back to a line."""
    paths = {key.removesuffix("_id"): item.at(key) for key in keys}
    paths.update({"system": item.at(item.first_key("system_id", "home_id"))})
    return paths
