"""Typed reads of one YAML mapping, each wrong type reported with its path.

A reader returns ``None`` (or the default) after reporting, so parsing carries on and
every problem in the file is found in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from catalog.constants import ID_MAX_LENGTH, ID_REGEX
from catalog.yamlconfig.loader import item_path
from catalog.yamlconfig.problems import Problems

_ID = re.compile(ID_REGEX)
MISSING = object()


def type_name(value: object) -> str:
    """How a YAML user would call the type of ``value``."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


class Item:
    """One mapping of the file (``inverters[2]``) and the problems found in it."""

    def __init__(self, data: Mapping[str, Any], path: str, problems: Problems) -> None:
        self.data = data
        self.path = path
        self.problems = problems

    def at(self, key: str) -> str:
        """The YAML path of ``key`` in this mapping."""
        return item_path(self.path, key)

    def has(self, key: str) -> bool:
        """Whether the mapping spells out ``key`` (even as null)."""
        return key in self.data

    def error(self, key: str, message: str) -> None:
        """Report a problem with ``key`` (or the whole item when ``key`` is empty)."""
        self.problems.add(self.at(key) if key else self.path, message)

    def check_keys(self, allowed: Iterable[str], original: Mapping[str, str] | None = None) -> None:
        """Report keys this item does not know: a typo would otherwise be silently ignored.

        ``original`` holds the original system's keys that solarmon does not import, each with
        the reason: those are warnings, not errors.
        """
        known = set(allowed)
        for key in self.data:
            if key in known:
                continue
            if original and key in original:
                self.problems.warn(self.at(str(key)), original[key])
            else:
                self.error(str(key), f"unknown key {key!r} (expected one of: {', '.join(sorted(known))})")

    def raw(self, *keys: str) -> Any:
        """The value of the first of ``keys`` present, or ``MISSING``."""
        for key in keys:
            if key in self.data:
                return self.data[key]
        return MISSING

    def first_key(self, *keys: str) -> str:
        """The first of ``keys`` present (the first one when none is)."""
        return next((key for key in keys if key in self.data), keys[0])

    def text(self, *keys: str, required: bool = False) -> str | None:
        """A string; numbers are accepted and turned into text (``serial_number: 1234``)."""
        value = self.raw(*keys)
        if value is MISSING or value is None:
            if required:
                self.error(keys[0], "required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(self.first_key(*keys), f"expected a string, got {type_name(value)}")
            return None
        return str(value)

    def ident(self, *keys: str, required: bool = False) -> str | None:
        """An id: text of letters, digits, ``_``, ``-`` and ``.``."""
        value = self.text(*keys, required=required)
        if value is not None and (not _ID.match(value) or len(value) > ID_MAX_LENGTH):
            self.error(self.first_key(*keys), f"{value!r} is not a valid id (letters, digits, '_', '-', "
                       f"'.', starting with a letter or digit, at most {ID_MAX_LENGTH} characters)")
            return None
        return value

    def number(self, key: str, minimum: float | None = None) -> float | None:
        """An integer or decimal number, as a float."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(key, f"expected a number, got {type_name(value)}")
            return None
        if minimum is not None and value < minimum:
            self.error(key, f"must be at least {minimum:g}")
            return None
        return float(value)

    def integer(self, key: str, default: int | None = None, minimum: int | None = None) -> int | None:
        """A whole number (``true`` is not one, although Python thinks so)."""
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, f"expected an integer, got {type_name(value)}")
            return default
        if minimum is not None and value < minimum:
            self.error(key, f"must be at least {minimum}")
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        """``true`` or ``false``."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(key, f"expected true or false, got {type_name(value)}")
            return default
        return value

    def choice(self, key: str, allowed: Iterable[str]) -> str | None:
        """One of ``allowed``."""
        value = self.text(key)
        options = list(allowed)
        if value is not None and value not in options:
            self.error(key, f"{value!r} is not one of: {', '.join(options)}")
            return None
        return value

    def id_list(self, key: str) -> list[tuple[str, str]] | None:
        """A list of ids, each with its own path; ``None`` when the key is absent."""
        value = self.data.get(key, MISSING)
        if value is MISSING:
            return None
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(key, f"expected a list of ids, got {type_name(value)}")
            return []
        result = []
        for index, entry in enumerate(value):
            if isinstance(entry, str | int) and not isinstance(entry, bool):
                result.append((str(entry), item_path(self.at(key), index)))
            else:
                self.problems.add(item_path(self.at(key), index), f"expected an id, got {type_name(entry)}")
        return result

    def timestamp(self, *keys: str) -> datetime | None:
        """An ISO 8601 date-time (YAML may already have parsed it); naive ones stay naive."""
        value = self.raw(*keys)
        if value is MISSING or value is None:
            return None
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        self.error(self.first_key(*keys), f"expected an ISO 8601 date-time such as "
                   f"'2025-01-01T00:00:00+05:00', got {value!r}")
        return None


def mapping_items(value: Any, path: str, problems: Problems) -> list[Item]:
    """The mappings of a top-level list section; wrong shapes are reported."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, f"expected a list, got {type_name(value)}")
        return []
    items = []
    for index, entry in enumerate(value):
        entry_path = item_path(path, index)
        if isinstance(entry, dict):
            items.append(Item(entry, entry_path, problems))
        else:
            problems.add(entry_path, f"expected a mapping, got {type_name(entry)}")
    return items
