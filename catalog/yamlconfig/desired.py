"""What a config file asks for, as catalog rows keyed the way the planner finds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models

from catalog import models as m
from catalog.yamlconfig.sections import SectionValues

# Apply order: parents before children, adapters before the devices that use them.
TABLES: dict[str, type[models.Model]] = {
    "systems": m.System,
    "adapters": m.Adapter,
    "arrays": m.InverterArray,
    "battery_arrays": m.BatteryArray,
    "inverters": m.Inverter,
    "battery_packs": m.BatteryPack,
    "battery_pack_adapters": m.BatteryPackAdapter,
    "batteries": m.Battery,
    "battery_cells": m.BatteryCell,
    "battery_array_attachments": m.BatteryArrayAttachment,
    "meters": m.Meter,
}


@dataclass
class Row:
    """One row the file asks for: its table, identity, column values (by attname) and YAML path.

    ``field_paths`` maps model field names to the YAML paths that set them, so a model
    validation error found while saving can still name the line.
    """

    table: str
    key: tuple[Any, ...]
    values: dict[str, Any]
    path: str
    field_paths: dict[str, str] = field(default_factory=dict)


@dataclass
class PackUnits:
    """``batteries``/``cells_per_battery`` of one pack: the unit and cell rows it needs."""

    pack_id: str
    batteries: int
    cells_per_battery: int
    path: str
    # Serial numbers of the units by index, where the file gives them (the original's older shape).
    serials: list[str | None] = field(default_factory=list)


@dataclass
class Desired:
    """Everything one file asks for."""

    system_id: str
    rows: dict[str, list[Row]] = field(default_factory=lambda: {table: [] for table in TABLES})
    units: list[PackUnits] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)
    # Sections other apps own (``mqtt``, ``discovery``): what each asks for.
    settings: dict[str, SectionValues] = field(default_factory=dict)
    # What the file holds that is not imported, and what the import filled in.
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        """Append ``row`` to its table."""
        self.rows[row.table].append(row)
        return row
