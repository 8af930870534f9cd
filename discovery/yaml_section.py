"""The ``discovery:`` section of a config file, in solarmon's shape or the original system's.

solarmon's keys are the fields of the stored discovery settings (``interval_s``, ``probe_order``,
...). The original's keys are translated (minutes to seconds, ``priority_order`` to
``probe_order``); ``max_retries`` has no counterpart (each port is probed once per type per scan).
"""

from __future__ import annotations

from typing import Any

from catalog.yamlconfig.fields import Item
from catalog.yamlconfig.sections import SectionValues, SingletonRowSection
from discovery.conf import SERIAL_TYPES
from discovery.models import DiscoveryConfig

FLAGS = ("enabled", "scan_on_startup")
NUMBERS = ("interval_s", "probe_timeout_s", "retry_base_s", "retry_max_s", "backoff_multiplier")
FIELDS = (*FLAGS, "interval_s", "probe_order", "probe_timeout_s", "max_failures", "retry_base_s",
          "retry_max_s", "backoff_multiplier")
# The original's key → (solarmon's field, factor to seconds).
ORIGINAL_NUMBERS = {"scan_interval_minutes": ("interval_s", 60.0), "identification_timeout":
                    ("probe_timeout_s", 1.0), "initial_retry_minutes": ("retry_base_s", 60.0),
                    "max_retry_minutes": ("retry_max_s", 60.0)}
ORIGINAL_NOT_IMPORTED = {"max_retries": "solarmon probes each port once per adapter type per scan"}


class DiscoverySection(SingletonRowSection):
    """``discovery:`` ↔ the ``discovery_config`` row."""

    model = DiscoveryConfig
    key = "discovery"
    table = "discovery_config"

    def parse(self, item: Item) -> SectionValues | None:
        item.check_keys((*FIELDS, *ORIGINAL_NUMBERS, "priority_order"), ORIGINAL_NOT_IMPORTED)
        values: dict[str, Any] = {name: None for name in FIELDS}
        paths = {name: item.at(name) for name in FIELDS}
        for name in FLAGS:
            values[name] = item.boolean(name, None) if item.has(name) else None  # type: ignore[arg-type]
        for name in NUMBERS:
            values[name] = item.number(name)
        values["max_failures"] = item.integer("max_failures")
        for key, (name, factor) in ORIGINAL_NUMBERS.items():
            if item.has(key):
                if item.has(name):
                    item.error(key, f"give either {key} or {name}, not both")
                number = item.number(key)
                values[name] = None if number is None else number * factor
                paths[name] = item.at(key)
        order_key = "priority_order" if item.has("priority_order") else "probe_order"
        values["probe_order"] = self._order(item, order_key)
        paths["probe_order"] = item.at(order_key)
        return SectionValues(values, item.path, paths)

    @staticmethod
    def _order(item: Item, key: str) -> list[str] | None:
        """Adapter types in probing order; types that are not found on serial ports are left out."""
        listed = item.id_list(key)
        if listed is None:
            return None
        order = []
        for adapter_type, path in listed:
            if adapter_type in SERIAL_TYPES:
                order.append(adapter_type)
            else:
                item.problems.warn(path, f"{adapter_type!r} is not probed on serial ports (solarmon probes "
                                   f"{', '.join(sorted(SERIAL_TYPES))})")
        return order

    def export(self) -> dict[str, Any] | None:
        row = self.stored()
        if row is None:
            return None
        return {name: getattr(row, name) for name in FIELDS if getattr(row, name) is not None}
