"""A boolean stored as the integer 0 or 1.

Why: the spec's §12 query filters ``WHERE is_auto_discovered = 1``. On SQLite a boolean
column is an integer anyway, but on PostgreSQL ``boolean = integer`` is an error. Storing
the flag as ``smallint`` makes the query run unchanged on both, while Python code and the
ORM still see ``True``/``False``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import lookups
from django.db.models.expressions import Expression


class IntegerFlagField(models.BooleanField):  # type: ignore[type-arg]
    """``True``/``False`` in Python, ``1``/``0`` (smallint) in the database."""

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        return "smallint"

    def rel_db_type(self, connection: BaseDatabaseWrapper) -> str:
        return "smallint"

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
                          ) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        return None if value is None else int(bool(value))

    def from_db_value(self, value: Any, expression: Expression, connection: BaseDatabaseWrapper
                      ) -> bool | None:
        return None if value is None else bool(value)


@IntegerFlagField.register_lookup
class FlagExact(lookups.Exact):
    """``flag = 0/1``: Django would write a boolean ``flag`` as ``WHERE flag`` / ``WHERE NOT flag``,
    which PostgreSQL refuses for a smallint."""

    lookup_name = "exact"

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs_sql} = {rhs_sql}", [*lhs_params, *rhs_params]
