"""State shared while parsing one file: the rows declared so far and who uses which adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalog.yamlconfig.desired import Desired, Row
from catalog.yamlconfig.fields import Item
from catalog.yamlconfig.problems import Problems


@dataclass
class Context:
    """Ids declared in the file, by kind, each with the row (and so the path) that declared it."""

    problems: Problems
    desired: Desired
    timezone: str = "UTC"
    arrays: dict[str, Row] = field(default_factory=dict)
    battery_arrays: dict[str, Row] = field(default_factory=dict)
    inverters: dict[str, Row] = field(default_factory=dict)
    packs: dict[str, Row] = field(default_factory=dict)
    meters: dict[str, Row] = field(default_factory=dict)
    adapters: dict[str, Row] = field(default_factory=dict)
    adapter_users: dict[str, str] = field(default_factory=dict)
    # Membership lists (arrays[].inverter_ids, battery_bank_arrays[].battery_bank_ids):
    # member id → (group id, path of the list entry).
    inverter_members: dict[str, tuple[str, str]] = field(default_factory=dict)
    pack_members: dict[str, tuple[str, str]] = field(default_factory=dict)
    listed_arrays: set[str] = field(default_factory=set)
    listed_battery_arrays: set[str] = field(default_factory=set)
    # The original's polling.interval_secs: the poll interval of adapters that give none.
    default_poll_interval: float | None = None
    # What an adapter mapping of the original said about its pack (model, manufacturer, units).
    adapter_pack_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Arrays and battery arrays the import made up (defaults) because the file names none.
    defaulted: set[str] = field(default_factory=set)
    # Battery arrays made for the original's older pack attachments → their inverter array.
    older_targets: dict[str, str] = field(default_factory=dict)

    def declared(self, registry: dict[str, Row]) -> set[str]:
        """The ids of ``registry`` the file itself declares (not the defaults the import added)."""
        return set(registry) - self.defaulted

    @property
    def system_id(self) -> str:
        """The id of the system the file describes."""
        return self.desired.system_id

    def declare(self, registry: dict[str, Row], row: Row, item: Item, what: str, key: str = "id"
                ) -> Row | None:
        """Add ``row`` unless its id is taken; a duplicate is reported (at ``key``) and dropped."""
        row_id = str(row.key[0])
        if row_id in registry:
            item.error(key, f"duplicate {what} id {row_id!r} (first declared at {registry[row_id].path})")
            return None
        registry[row_id] = row
        return self.desired.add(row)

    def check_system(self, item: Item, expected: str, owner: str) -> None:
        """``system_id``/``home_id`` of an item, when given, must be its parent's system."""
        key = item.first_key("system_id", "home_id")
        given = item.ident("system_id", "home_id")
        if given is not None and given != expected:
            item.error(key, f"{given!r} does not match the system of {owner} ({expected!r})")
