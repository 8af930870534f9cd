"""Dropping (and, backwards, making again) the index Django gives each foreign key, in migrations.

Sample, tier and rollup tables keep their primary key and the spec's ``idx_*`` indexes only. On
SQLite, Django would drop a foreign key's index by rebuilding the whole table; these helpers drop
the index alone, on either database (on PostgreSQL that includes the ``_like`` pattern index of a
text key).
"""

from __future__ import annotations

from typing import Any


def foreign_key_indexes(schema_editor: Any, table: str, column: str) -> list[str]:
    """Names of the plain indexes on exactly ``column`` that Django made (the spec's are kept)."""
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [name for name, info in constraints.items()
            if info["index"] and not info["unique"] and not info["primary_key"]
            and info["columns"] == [column] and not name.startswith("idx_")]


def drop_foreign_key_indexes(app_label: str, fields: dict[str, list[str]]) -> Any:
    """A ``RunPython`` function dropping the indexes of ``fields`` (model name: foreign keys)."""
    def drop(apps: Any, schema_editor: Any) -> None:
        for model_name, names in fields.items():
            model = apps.get_model(app_label, model_name)
            for name in names:
                column = model._meta.get_field(name).column
                for index in foreign_key_indexes(schema_editor, model._meta.db_table, column):
                    schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(index)}")
    return drop


def create_foreign_key_indexes(app_label: str, fields: dict[str, list[str]]) -> Any:
    """The reverse of :func:`drop_foreign_key_indexes`: the indexes as Django makes them."""
    def create(apps: Any, schema_editor: Any) -> None:
        for model_name, names in fields.items():
            model = apps.get_model(app_label, model_name)
            for name in names:
                field = model._meta.get_field(name)
                if foreign_key_indexes(schema_editor, model._meta.db_table, field.column):
                    continue
                schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))
                if schema_editor.connection.vendor == "postgresql":
                    schema_editor.execute(schema_editor._create_like_index_sql(model, field))
    return create
