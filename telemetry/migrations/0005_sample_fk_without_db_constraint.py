"""The database stops checking the sample tables' foreign keys other than a row's own device.

Dropped: the denormalized ancestors of every sample table and the battery and cell of unit and
cell rows (see telemetry/models.py for why; deleting a device still deletes its samples, through
Django's ``on_delete``). Kept: ``inverter``, ``meter`` and ``pack`` of the per-poll tables,
``array`` of ``array_samples`` and ``system`` of ``system_samples``.

Done in place, without copying a table. PostgreSQL drops the constraints (``ALTER TABLE … DROP
CONSTRAINT``). SQLite keeps a foreign key in the table's ``CREATE TABLE`` text and can only drop
it by rebuilding the table, which a database with months of samples on a nearly full SD card
could not afford; instead the ``REFERENCES`` clauses are removed from that text by SQLite's
documented procedure for changes that leave the stored rows as they are
(https://sqlite.org/lang_altertable.html#otheralter), after checking on a scratch database that
the new text declares the same columns and only the foreign keys it should. Reversing adds the
constraints back (on SQLite by rebuilding the tables).
"""

from __future__ import annotations

import copy
import re
import sqlite3
from typing import Any

import django.db.models.deletion
from django.db import migrations, models

# (model, foreign keys the database no longer checks)
UNCHECKED = {
    "energysample": ["array", "system"],
    "arraysample": ["system"],
    "batterybanksample": ["battery_array", "system"],
    "batteryunitsample": ["battery", "pack", "battery_array", "system"],
    "batterycellsample": ["cell_ref", "battery", "pack", "battery_array", "system"],
    "metersample": ["system", "array"],
}
RELATED = {
    "array": ("catalog.inverterarray", "array_id"),
    "system": ("catalog.system", "system_id"),
    "battery_array": ("catalog.batteryarray", "battery_array_id"),
    "pack": ("catalog.batterypack", "pack_id"),
    "battery": ("catalog.battery", "battery_id"),
    "cell_ref": ("catalog.batterycell", "cell_id"),
}
# The foreign keys the models name ``samples``; the others are ``+``.
SAMPLES = {("batteryunitsample", "battery"), ("batterycellsample", "cell_ref")}


def _field(model: str, name: str) -> models.ForeignKey:
    to, column = RELATED[name]
    null = model == "metersample" and name == "array"
    on_delete = django.db.models.deletion.SET_NULL if null else django.db.models.deletion.CASCADE
    return models.ForeignKey(to=to, on_delete=on_delete, db_column=column, db_index=False,
                             db_constraint=False, null=null,
                             related_name="samples" if (model, name) in SAMPLES else "+")


def _without_references(sql: str, columns: list[str]) -> str:
    """``sql`` (a ``CREATE TABLE``) without the ``REFERENCES`` clauses of ``columns``."""
    for column in columns:
        sql = re.sub(rf'("{column}" [^,()]*(?:\(\d+\))?[^,()]*?) REFERENCES "\w+" \("\w+"\)'
                     r"(?: DEFERRABLE INITIALLY DEFERRED)?", r"\1", sql)
    return sql


def _layout(sql: str) -> tuple[list[Any], list[Any]]:
    """The columns and foreign keys ``sql`` declares, read by SQLite from a scratch database."""
    scratch = sqlite3.connect(":memory:")
    try:
        scratch.execute(sql)
        table = re.match(r'CREATE TABLE "(\w+)"', sql)
        assert table is not None
        name = table.group(1)
        columns = scratch.execute(f'PRAGMA table_xinfo("{name}")').fetchall()
        keys = sorted(row[3] for row in scratch.execute(f'PRAGMA foreign_key_list("{name}")'))
        return columns, keys
    finally:
        scratch.close()


def _drop_sqlite_references(schema_editor: Any, table: str, columns: list[str]) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table])
        (sql,) = cursor.fetchone()
        new = _without_references(sql, columns)
        (before, keys), (after, kept) = _layout(sql), _layout(new)
        if before != after or kept != sorted(set(keys) - set(columns)):
            raise RuntimeError(f"{table}: the foreign keys of {', '.join(columns)} could not be dropped in "
                               f"place (the table's definition is not the one expected): {sql}")
        if new == sql:
            return
        (version,) = cursor.execute("PRAGMA schema_version").fetchone()
        cursor.execute("PRAGMA writable_schema = ON")
        cursor.execute("UPDATE sqlite_master SET sql = %s WHERE type = 'table' AND name = %s", [new, table])
        cursor.execute(f"PRAGMA schema_version = {int(version) + 1}")
        cursor.execute("PRAGMA writable_schema = OFF")


def _alter(apps: Any, schema_editor: Any, checked: bool) -> None:
    for model_name, names in UNCHECKED.items():
        model = apps.get_model("telemetry", model_name)
        for name in names:
            field = model._meta.get_field(name)  # as it was before: checked
            unchecked = copy.copy(field)
            unchecked.db_constraint = False
            schema_editor.alter_field(model, *((unchecked, field) if checked else (field, unchecked)))


def drop_constraints(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for model_name, names in UNCHECKED.items():
            meta = apps.get_model("telemetry", model_name)._meta
            _drop_sqlite_references(schema_editor, meta.db_table,
                                    [meta.get_field(name).column for name in names])
        return
    _alter(apps, schema_editor, checked=False)


def restore_constraints(apps: Any, schema_editor: Any) -> None:
    _alter(apps, schema_editor, checked=True)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0001_initial"),
        ("telemetry", "0004_sample_storage_layout"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(model_name=model, name=name, field=_field(model, name))
                              for model, names in UNCHECKED.items() for name in names],
            database_operations=[migrations.RunPython(drop_constraints, restore_constraints)],
        ),
    ]
