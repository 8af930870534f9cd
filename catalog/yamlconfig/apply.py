"""Writing a plan, in one transaction, through the catalog's own save service.

``save_entity`` runs the model validation (the last line of defence after the file's own
checks); any error it raises is mapped back to the YAML path, every row is tried so all
errors are reported, and then the whole transaction is rolled back.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from catalog import models as m
from catalog.services import ensure_pack_units, save_entity, sync_adapter_types
from catalog.yamlconfig.desired import TABLES
from catalog.yamlconfig.plan import CREATE, UNCHANGED, UPDATE, Change, Plan
from catalog.yamlconfig.problems import Problems
from catalog.yamlconfig.prune import Deletion, collect, describe_data
from catalog.yamlconfig.sections import SECTIONS, validation_messages

ATTACHMENTS = "battery_array_attachments"


def apply_plan(plan: Plan, problems: Problems, prune: bool = False, force: bool = False) -> Deletion:
    """Write ``plan``; returns what was pruned. Raises ``ImportFailed`` (nothing written)."""
    with transaction.atomic():
        sync_adapter_types()
        for table in TABLES:
            if table == ATTACHMENTS:
                _apply_attachments(plan, problems, prune)
            elif table == "batteries":
                _apply_units(plan, problems)
            elif table != "battery_cells":
                for change in plan.changes[table]:
                    _apply_change(table, change, problems)
        _apply_settings(plan, problems)
        problems.raise_if_any()
        return _prune(plan, problems, force) if prune else Deletion()


def _apply_change(table: str, change: Change, problems: Problems) -> None:
    model = TABLES[table]
    if change.kind == CREATE:
        obj = model(**change.values)
    elif change.kind == UPDATE:
        obj = model._default_manager.get(pk=change.pk)
        for name, value in change.values.items():
            setattr(obj, name, value)
    else:
        return
    try:
        save_entity(obj)
    except ValidationError as exc:
        _report(problems, change, table, exc)


def _report(problems: Problems, change: Change, table: str, exc: ValidationError) -> None:
    """Place a model validation error at the YAML path of the field it names."""
    path = change.row.path if change.row else table
    errors: dict[str, Any] = (exc.message_dict if hasattr(exc, "error_dict")
                              else {NON_FIELD_ERRORS: exc.messages})
    for name, messages in errors.items():
        field_path = change.row.field_paths.get(name, path) if change.row else path
        problems.add(field_path, "; ".join(str(message) for message in messages))


def _apply_attachments(plan: Plan, problems: Problems, prune: bool) -> None:
    """Unnamed attachments go first when pruning; detaching updates before the others."""
    if prune:
        m.BatteryArrayAttachment.objects.filter(pk__in=plan.prune_roots.get(ATTACHMENTS, [])).delete()
    changes = plan.changes[ATTACHMENTS]
    detaching = [c for c in changes if c.kind == UPDATE and c.values.get("detached_at") is not None]
    for change in detaching + [c for c in changes if c not in detaching]:
        _apply_change(ATTACHMENTS, change, problems)


def _apply_units(plan: Plan, problems: Problems) -> None:
    for change in plan.units:
        if not (change.new_batteries or change.new_cells or change.new_serials):
            continue
        wanted = change.units
        try:
            ensure_pack_units(m.BatteryPack.objects.get(pk=wanted.pack_id), wanted.batteries,
                              wanted.cells_per_battery)
            for index, serial in change.new_serials.items():
                battery = m.Battery.objects.get(pack_id=wanted.pack_id, battery_index=index)
                battery.serial_number = serial
                save_entity(battery)
        except ValidationError as exc:
            problems.add(wanted.path, "; ".join(exc.messages))


def _apply_settings(plan: Plan, problems: Problems) -> None:
    """Rows of the sections other apps own, written by their sections in this transaction."""
    for key, change in plan.settings.items():
        if change.kind == UNCHANGED:
            continue
        values = change.values
        try:
            SECTIONS[key].apply(values.values)
        except ValidationError as exc:
            for name, messages in validation_messages(exc).items():
                problems.add(values.field_paths.get(name, values.path), "; ".join(messages))


def _prune(plan: Plan, problems: Problems, force: bool) -> Deletion:
    """Delete what the file no longer names, unless that would silently take recorded data along."""
    roots = {table: pks for table, pks in plan.prune_roots.items() if table != ATTACHMENTS}
    collector, deletion = collect(roots)
    if deletion.data and not force:
        problems.add("", f"--prune would also delete recorded data ({describe_data(deletion)}); nothing "
                     "was changed. Re-run with --prune --force to delete it as well")
        problems.raise_if_any()
    collector.delete()
    attachments = [str(pk) for pk in plan.prune_roots.get(ATTACHMENTS, [])]
    if attachments:
        deletion.catalog.setdefault(ATTACHMENTS, []).extend(attachments)
    return deletion
