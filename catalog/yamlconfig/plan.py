"""The difference between a file and the database: per table, rows to create, update or keep.

Rows are matched by id (text primary keys), by (pack, adapter) for adapter links, and for
attachments by (battery array, attached_since), or, for an active one, by being the active
attachment of the same pair. Batteries and cells are matched by their index in the pack.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from catalog import models as m
from catalog.yamlconfig.desired import TABLES, Desired, PackUnits, Row
from catalog.yamlconfig.sections import SECTIONS, SectionValues

CREATE, UPDATE, UNCHANGED, DELETE = "create", "update", "unchanged", "delete"


@dataclass
class Change:
    """What happens to one row. ``pk`` names the existing row; ``values`` are what is written."""

    kind: str
    row: Row | None
    pk: Any = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class UnitsChange:
    """Battery units and cells one pack gains (existing ones are kept), and serials that change."""

    units: PackUnits
    new_batteries: int
    new_cells: int
    new_serials: dict[int, str | None] = field(default_factory=dict)


@dataclass
class SettingsChange:
    """What happens to the settings row of one section (``mqtt``, ``discovery``)."""

    kind: str
    values: SectionValues
    changed: dict[str, Any]


@dataclass
class Plan:
    """Everything an import would do."""

    desired: Desired
    changes: dict[str, list[Change]] = field(default_factory=lambda: {table: [] for table in TABLES})
    units: list[UnitsChange] = field(default_factory=list)
    prune_roots: dict[str, list[Any]] = field(default_factory=dict)
    counts: dict[str, Counter[str]] = field(default_factory=lambda: {table: Counter() for table in TABLES})
    settings: dict[str, SettingsChange] = field(default_factory=dict)

    def add(self, table: str, change: Change) -> None:
        """Record ``change`` and count it."""
        self.changes[table].append(change)
        self.counts[table][change.kind] += 1

    def total(self, kind: str) -> int:
        """Rows of ``kind`` (create, update, unchanged) over all tables."""
        return sum(counter[kind] for counter in self.counts.values())


def make_plan(desired: Desired, prune: bool) -> Plan:
    """Compare ``desired`` with the database (read only)."""
    plan = Plan(desired)
    for table in TABLES:
        if table in ("batteries", "battery_cells"):
            continue
        if table == "battery_array_attachments":
            _plan_attachments(plan, desired.rows[table], prune)
        elif table == "battery_pack_adapters":
            _plan_links(plan, desired.rows[table])
        else:
            _plan_by_pk(plan, table, desired.rows[table])
    _plan_units(plan, desired.units)
    for key, values in desired.settings.items():
        section = SECTIONS[key]
        kind, changed = section.compare(values.values)
        plan.settings[key] = SettingsChange(kind, values, changed)
        plan.counts.setdefault(section.table, Counter())[kind] += 1
    if prune:
        _plan_prune(plan)
    return plan


def differences(obj: models.Model, values: dict[str, Any]) -> dict[str, Any]:
    """The ``values`` (by attname) that differ from ``obj``."""
    return {name: value for name, value in values.items() if getattr(obj, name) != value}


def _classify(plan: Plan, table: str, row: Row, obj: models.Model | None) -> None:
    if obj is None:
        plan.add(table, Change(CREATE, row, values=dict(row.values)))
        return
    changed = differences(obj, row.values)
    plan.add(table, Change(UPDATE if changed else UNCHANGED, row, obj.pk, changed))


def _plan_by_pk(plan: Plan, table: str, rows: list[Row]) -> None:
    existing = TABLES[table]._default_manager.in_bulk([row.key[0] for row in rows])
    for row in rows:
        _classify(plan, table, row, existing.get(row.key[0]))


def _plan_links(plan: Plan, rows: list[Row]) -> None:
    existing = {(link.pack_id, link.adapter_id): link for link in m.BatteryPackAdapter.objects.all()}
    for row in rows:
        _classify(plan, "battery_pack_adapters", row, existing.get(row.key))


def _plan_attachments(plan: Plan, rows: list[Row], prune: bool) -> None:
    table = "battery_array_attachments"
    existing = list(m.BatteryArrayAttachment.objects.all())
    matched: set[int] = set()
    now = timezone.now()
    for row in rows:
        obj = _match_attachment(existing, matched, row)
        if obj is not None:
            matched.add(obj.pk)
        if row.values["attached_since"] is None:
            row.values["attached_since"] = obj.attached_since if obj is not None else now
        _classify(plan, table, row, obj)
    if not prune:
        _detach_conflicts(plan, rows, [obj for obj in existing if obj.pk not in matched], now)


def _match_attachment(existing: list[m.BatteryArrayAttachment], matched: set[int], row: Row
                      ) -> m.BatteryArrayAttachment | None:
    values = row.values
    for obj in existing:
        if obj.pk not in matched and obj.battery_array_id == values["battery_array_id"] and \
                values["attached_since"] is not None and obj.attached_since == values["attached_since"]:
            return obj
    if values["detached_at"] is not None:
        return None
    for obj in existing:
        if obj.pk not in matched and obj.detached_at is None and \
                obj.battery_array_id == values["battery_array_id"] and \
                obj.inverter_array_id == values["inverter_array_id"]:
            return obj
    return None


def _detach_conflicts(plan: Plan, rows: list[Row], unnamed: list[m.BatteryArrayAttachment],
                      now: datetime) -> None:
    """An active attachment the file does not name gives way to one it does: it is detached."""
    for row in rows:
        if row.values["detached_at"] is not None:
            continue
        for obj in unnamed:
            clash = obj.battery_array_id == row.values["battery_array_id"] or \
                obj.inverter_array_id == row.values["inverter_array_id"]
            if obj.detached_at is None and clash:
                since = row.values["attached_since"]
                obj.detached_at = since if since > obj.attached_since else max(now, obj.attached_since)
                plan.add("battery_array_attachments",
                         Change(UPDATE, None, obj.pk, {"detached_at": obj.detached_at}))


def _plan_units(plan: Plan, units: list[PackUnits]) -> None:
    for wanted in units:
        existing = list(m.Battery.objects.filter(pack_id=wanted.pack_id))
        have = {battery.battery_index: set(battery.cells.values_list("cell_index", flat=True))
                for battery in existing}
        serials = {battery.battery_index: battery.serial_number for battery in existing}
        new_batteries = new_cells = 0
        for index in range(wanted.batteries):
            cells = have.get(index)
            if cells is None:
                new_batteries += 1
            new_cells += sum(1 for cell in range(wanted.cells_per_battery) if cell not in (cells or set()))
        new_serials: dict[int, str | None] = {index: serial for index, serial in enumerate(wanted.serials)
                       if index < wanted.batteries and serial is not None and serials.get(index) != serial}
        changed = sum(1 for index in new_serials if index in have)
        kept_batteries = wanted.batteries - new_batteries - changed
        plan.units.append(UnitsChange(wanted, new_batteries, new_cells, new_serials))
        plan.counts["batteries"].update({CREATE: new_batteries, UPDATE: changed, UNCHANGED: kept_batteries})
        all_cells = wanted.batteries * wanted.cells_per_battery
        plan.counts["battery_cells"].update({CREATE: new_cells, UNCHANGED: all_cells - new_cells})


def _plan_prune(plan: Plan) -> None:
    """Rows the file no longer names: the roots of what ``--prune`` deletes."""
    for table, model in TABLES.items():
        named = {change.pk for change in plan.changes[table] if change.pk is not None}
        if table in ("batteries", "battery_cells"):
            continue
        unnamed = model._default_manager.exclude(pk__in=named)
        plan.prune_roots[table] = list(unnamed.values_list("pk", flat=True))
    plan.prune_roots["batteries"], plan.prune_roots["battery_cells"] = _surplus_units(plan.desired.units)


def _surplus_units(units: list[PackUnits]) -> tuple[list[Any], list[Any]]:
    """Batteries beyond a pack's ``batteries`` and cells beyond its ``cells_per_battery``."""
    batteries: list[Any] = []
    cells: list[Any] = []
    for wanted in units:
        in_pack = m.Battery.objects.filter(pack_id=wanted.pack_id)
        batteries += in_pack.filter(battery_index__gte=wanted.batteries).values_list("pk", flat=True)
        cells += m.BatteryCell.objects.filter(
            battery__in=in_pack.filter(battery_index__lt=wanted.batteries),
            cell_index__gte=wanted.cells_per_battery).values_list("pk", flat=True)
    return batteries, cells
