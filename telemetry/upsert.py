"""Insert-or-update of many rows in one statement per batch, on SQLite and PostgreSQL.

Plain SQL (``INSERT … ON CONFLICT (key) DO UPDATE``) with values prepared by each field, because
building a model instance per row costs more than the write. Rows are dicts keyed by field
attname (``inverter_id``) or name; a field a row leaves out gets the field's default, as a
model instance would.

``keep_min``/``keep_max`` name columns that keep the lower (higher) of the stored and the new
value instead of taking the new one (a NULL on either side keeps the other), which is how a
row that stands for an interval remembers its extremes.

:func:`insert_linked` writes one reading (a head row and its detail rows, e.g. a pack, its units
and its cells) the way the poll path needs it: the detail rows only if the head row is new. On
PostgreSQL that is one statement, each table's rows one ``INSERT … SELECT FROM unnest(…)`` in a
``WITH``, so a reading is one round trip and its own transaction; the columns go as binary arrays
bound by the server (no SQL text is built from the values), each encoded in a few C calls with
its field's type (:mod:`telemetry.pgarrays`). A reading of one row and no detail rows (an
inverter's or a meter's poll) goes as ``INSERT … VALUES ($1, …)`` with one typed binary
parameter per column instead: forty one-element arrays cost the client about 60 % more per
write (bench/ingest.py). These statements are prepared once per connection
(``SOLARMON_PG_PREPARED_WRITES``, on by default): parsing and planning the pack statement was
about as much of the server's work as writing its rows. Django leaves psycopg's
``prepare_threshold`` off for every other statement, and so does this module, since a pooler in
transaction mode that does not track prepared statements (PgBouncer before 1.21, or without
``max_prepared_statements``) needs them off: set the setting false there. ``COPY`` is not used:
it cannot say ``ON CONFLICT``, so an idempotent write would need a staging table and three
statements (``COPY``, ``INSERT … SELECT``, the staging table's clean-up) where ``unnest`` needs
one; measured so with psycopg's binary ``COPY``, it was slower on the client and the server alike
(bench/README.md, "third pass").
"""

from __future__ import annotations

import contextlib
import math
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from telemetry import pgarrays
from telemetry.statements import execute

BATCH = 200


def upsert(model: type[models.Model], rows: Iterable[Mapping[str, Any]], *,
           skip: Iterable[str] = (), overrides: Mapping[str, Any] | None = None,
           keep_min: Iterable[str] = (), keep_max: Iterable[str] = ()) -> int:
    """Upsert ``rows`` into ``model``'s table on its primary key, in statements of ``BATCH`` rows;
    returns the rows sent.

    ``skip`` names fields left to their database default (on insert) and never updated
    (``created_at``); ``overrides`` sets a value for every row (``updated_at``).
    """
    plan = _statement(model, connection.vendor, frozenset(skip), frozenset(keep_min), frozenset(keep_max),
                      True)
    values = _values(plan.fields, rows, dict(overrides or {}))
    if not values:
        return 0
    with connection.cursor() as cursor:
        for i in range(0, len(values), BATCH):
            batch = values[i:i + BATCH]
            execute(cursor, f"{plan.head}VALUES {', '.join([plan.marks] * len(batch))} {plan.tail}",
                    [v for row in batch for v in row])
    return len(values)


@dataclass(frozen=True)
class _Statement:
    """The parts of one table's insert that do not depend on the rows (built once per shape)."""

    fields: list[models.Field[Any, Any]]
    head: str  # INSERT INTO t (columns)
    tail: str  # ON CONFLICT (key) DO ...
    marks: str  # (%s, %s, ...)
    arrays: str  # SELECT * FROM unnest(%b::type[], ...): the rows as one binary array per column
    one_row: str  # SQLite: INSERT … VALUES (?, ?, …) ON CONFLICT …, for an executemany on a plain cursor


@lru_cache(maxsize=256)
def _statement(model: type[models.Model], vendor: str, skip: frozenset[str], keep_min: frozenset[str],
               keep_max: frozenset[str], update: bool) -> _Statement:
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f.column and f.name not in skip]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = [quote(f.column) for f in fields]
    column = {f.name: quote(f.column) for f in fields}
    lower, upper = {column[n] for n in keep_min}, {column[n] for n in keep_max}
    keys = {quote(f.column) for f in meta.pk_fields}
    changes = ", ".join(f"{n} = {_merged(table, n, n in lower, n in upper)}" for n in names if n not in keys)
    conflict = f"ON CONFLICT ({', '.join(quote(f.column) for f in meta.pk_fields)})"
    action = f"DO UPDATE SET {changes}" if changes and update else "DO NOTHING"
    arrays = ""
    if vendor == "postgresql":
        arrays = "SELECT * FROM unnest(" + ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields) + ")"
    head = f"INSERT INTO {table} ({', '.join(names)}) "
    marks = ", ".join(["%s"] * len(fields))
    return _Statement(fields, head, f"{conflict} {action}", f"({marks})", arrays,
                      f"{head}VALUES ({', '.join(['?'] * len(fields))}) {conflict} {action}")


@dataclass(frozen=True)
class Detail:
    """Rows that belong to a head row (a pack's unit or cell rows), upserted as :func:`upsert` does."""

    model: type[models.Model]
    rows: Sequence[Mapping[str, Any]]
    keep_min: tuple[str, ...] = ()
    keep_max: tuple[str, ...] = ()


def insert_linked(head: type[models.Model], rows: Iterable[Mapping[str, Any]],
                  details: Sequence[Detail]) -> bool:
    """Insert the head ``rows`` and, only if they were new, upsert ``details``; all or nothing.

    Returns whether the head rows were new (a repeat writes nothing). One statement on
    PostgreSQL (see above); on SQLite, whose statements run in the process without a round trip,
    one ``executemany`` per table in one transaction, on a plain cursor: Django's SQLite cursor
    rewrites a statement's placeholders with a regular expression at every call, which cost
    more than the head row's insert.
    """
    details = [detail for detail in details if detail.rows]
    rows = rows if isinstance(rows, Sequence) else list(rows)
    if not rows:
        return False
    db = connections[DEFAULT_DB_ALIAS]  # once: each lookup through ``connection`` is a thread-local's
    shape = tuple((d.model, frozenset(d.keep_min), frozenset(d.keep_max)) for d in details)
    plans = _linked_plans(head, shape, db.vendor)
    if db.vendor != "postgresql":
        with transaction.atomic() if details else contextlib.nullcontext(), _raw_cursor(db) as cursor:
            cursor.executemany(plans[0].one_row, _values(plans[0].fields, rows, {}))
            if cursor.rowcount <= 0:
                return False
            for plan, detail in zip(plans[1:], details, strict=True):
                cursor.executemany(plan.one_row, _values(plan.fields, detail.rows, {}))
        return True
    if not details and len(rows) == 1 and (one := _scalars(plans[0].fields, rows[0])) is not None:
        with _raw_cursor(db) as cursor:
            _execute_prepared(cursor, _single_statement(head), one, db)
            return cursor.fetchone() is not None
    params = _arrays(plans[0].fields, rows, {})
    for plan, detail in zip(plans[1:], details, strict=True):
        params.extend(_arrays(plan.fields, detail.rows, {}))
    with _raw_cursor(db) as cursor:
        _execute_prepared(cursor, _linked_statement(head, shape), params, db)
        (new,) = cursor.fetchone()
    return bool(new)


@lru_cache(maxsize=64)
def _linked_plans(head: type[models.Model],
                  details: tuple[tuple[type[models.Model], frozenset[str], frozenset[str]], ...],
                  vendor: str) -> tuple[_Statement, ...]:
    """The head table's insert (``DO NOTHING``), then each detail table's upsert."""
    return (_statement(head, vendor, frozenset(), frozenset(), frozenset(), False),
            *[_statement(model, vendor, frozenset(), low, high, True) for model, low, high in details])


@lru_cache(maxsize=64)
def _single_statement(head: type[models.Model]) -> str:
    """``INSERT … VALUES (%b, …) ON CONFLICT DO NOTHING RETURNING 1``: one row as scalars."""
    plan = _linked_plans(head, (), "postgresql")[0]
    return f"{plan.head}VALUES ({', '.join(['%b'] * len(plan.fields))}) {plan.tail} RETURNING 1"


def _scalars(fields: list[models.Field[Any, Any]], row: Mapping[str, Any]) -> list[Any] | None:
    """One row's values as typed binary parameters (:func:`telemetry.pgarrays.scalar_encoder_of`),
    prepared as :func:`_arrays` prepares them (a column the row leaves out gets its default);
    ``None`` when a value does not fit its column as is (the caller then sends arrays, which
    convert it or name it)."""
    recipe = _recipe(fields)
    if recipe.scalars is None:
        return None
    try:
        values: Sequence[Any] = recipe.pick(row)
    except KeyError:
        values = _with_defaults(recipe, fields, row)
    adapt = connection.ops.adapt_datetimefield_value
    try:
        return [encode(value if prepare is _same else (prepare or adapt)(value))
                for encode, prepare, value in zip(recipe.scalars, recipe.prepare, values, strict=True)]
    except (TypeError, AttributeError, struct.error, OverflowError):
        return None


@lru_cache(maxsize=64)
def _linked_statement(head: type[models.Model],
                      details: tuple[tuple[type[models.Model], frozenset[str], frozenset[str]], ...]) -> str:
    """``WITH head AS (INSERT … DO NOTHING RETURNING 1), d0 AS (INSERT … WHERE EXISTS (SELECT FROM
    head) …), … SELECT count(*) FROM head``: every part runs, the details only add rows when the
    head row is new."""
    plan, *plans = _linked_plans(head, details, "postgresql")
    parts = [f"head AS ({plan.head}{plan.arrays} {plan.tail} RETURNING 1)"]
    for i, part in enumerate(plans):
        parts.append(f"d{i} AS ({part.head}{part.arrays} WHERE EXISTS (SELECT FROM head) {part.tail})")
    return f"WITH {', '.join(parts)} SELECT count(*) FROM head"


@contextlib.contextmanager
def _raw_cursor(db: BaseDatabaseWrapper | None = None) -> Iterator[Any]:
    """A cursor of the default connection that takes the database's own placeholders (``$1`` on
    PostgreSQL, ``?`` on SQLite), still seen by Django's query logging and ``execute_wrapper``.

    On PostgreSQL it is psycopg's ``RawCursor``, whose parameters are bound by the server (sent
    apart from the statement, in binary; Django's own cursors bind on the client) and whose
    statements are not parsed on the client: a ``%s`` statement is parsed again at every execute
    once it is longer than psycopg's cache takes (4,096 bytes; the pack's statement is longer),
    about 0.14 ms of a pack poll's CPU. On SQLite it is the driver's plain cursor (see
    :func:`insert_linked`); only its ``executemany`` may be used while statements are logged
    (Django's log of an ``execute`` substitutes ``%s`` placeholders).
    """
    db = db or connections[DEFAULT_DB_ALIAS]
    db.close_if_health_check_failed()
    db.ensure_connection()
    raw_connection = db.connection
    with db.wrap_database_errors:
        if db.vendor == "postgresql":
            pgarrays.register(raw_connection)
            raw = psycopg.RawCursor(raw_connection)
        else:
            raw = raw_connection.cursor()
    with db._prepare_cursor(raw) as cursor:  # type: ignore[attr-defined]
        yield cursor


@lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """``sql`` with its ``%b`` placeholders numbered as PostgreSQL's own (``$1``, ``$2``, …)."""
    parts = sql.split("%b")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))


def _execute_prepared(cursor: Any, sql: str, params: list[Any],
                      db: BaseDatabaseWrapper | None = None) -> None:
    """``cursor.execute`` of a statement prepared on its connection at first use (see above).

    Django's cursor cannot pass psycopg's ``prepare=True``, so the connection's threshold is set
    to "at once" for this one statement and put back: every other statement stays unprepared.
    A connection whose OPTIONS set a threshold prepares as it is told. While statements are
    logged (``DEBUG``, Django's query capture) nothing is prepared: psycopg keeps no text of an
    executed prepared statement for the log to show.
    """
    sql = _numbered(sql)
    db = db or connections[DEFAULT_DB_ALIAS]
    raw = db.connection
    if (raw.prepare_threshold is not None or not settings.SOLARMON_PG_PREPARED_WRITES
            or db.queries_logged):
        cursor.execute(sql, params)
        return
    raw.prepare_threshold = 0
    try:
        cursor.execute(sql, params)
    finally:
        raw.prepare_threshold = None


def _arrays(fields: list[models.Field[Any, Any]], rows: Sequence[Mapping[str, Any]],
            fixed: Mapping[str, Any]) -> list[Any]:
    """Each column of ``rows`` (in ``fields`` order, prepared as :func:`_values` does) as one
    array parameter, encoded by :mod:`telemetry.pgarrays`; a column it does not take goes as a
    list for psycopg (:func:`_listed`)."""
    recipe = _recipe(fields)
    table = _picked(recipe, rows)
    columns: list[Sequence[Any]] = list(zip(*table, strict=True)) if table else [
        [row[attname] if attname in row else row.get(name, default) for row in rows]
        for attname, name, default in recipe.defaults(fields)]
    params: list[Any] = []
    adapt = connection.ops.adapt_datetimefield_value
    for i, field in enumerate(fields):
        column = columns[i]
        if field.attname in fixed:
            column = [fixed[field.attname]] * len(rows)
        column = _prepared(recipe.prepare[i] or adapt, column)
        encoded = pgarrays.encode_with(recipe.encoders[i], column)
        params.append(_listed(field, list(column)) if encoded is None else encoded)
    return params


def _listed(field: models.Field[Any, Any], column: list[Any]) -> list[Any]:
    """A column :mod:`telemetry.pgarrays` did not take, as a list psycopg can dump (it cannot
    dump one that mixes types): numbers as floats (an integer column rounds them, as it always
    has), text from what is not text (as SQLite stores it); a value that is none of these is
    refused with its table, column and value named."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    name = f"{field.model._meta.db_table}.{field.column}"
    if isinstance(target, (models.FloatField, models.IntegerField)):
        try:
            numbers = [None if v is None else float(v) for v in column]
        except (TypeError, ValueError, OverflowError):
            bad = next(v for v in column if not _is_number(v))
            raise ValueError(f"{name}: {bad!r} is not a number") from None
        limit = _INT_LIMITS.get(target.get_internal_type(), math.inf)
        if (bad := next((v for v in column if v is not None and abs(float(v)) > limit), None)) is not None:
            raise ValueError(f"{name}: {bad!r} is out of the column's range")
        return numbers
    if isinstance(target, (models.CharField, models.TextField)):
        return [v if v is None or isinstance(v, str) else str(v) for v in column]
    return column


_INT_LIMITS = {"IntegerField": 2**31 - 1, "SmallIntegerField": 2**15 - 1, "BigIntegerField": 2**63 - 1}


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError, OverflowError):
        return value is None
    return True


# Columns whose Python values go to the driver as they are (the hot path of ingest: a pack poll
# writes a row per cell); other fields prepare their values as Django would.
_PLAIN = (models.FloatField, models.IntegerField, models.CharField)


def _preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How ``field``'s values go to the driver: ``_same`` as they are; None for a time, which
    is prepared by the connection in use (:func:`_prepared`)."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if isinstance(target, _PLAIN):
        return _same
    if isinstance(target, models.DateTimeField):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def _same(value: Any) -> Any:
    return value


_Column = tuple[str, str, Any]  # attname, name, default


@dataclass(frozen=True)
class _Recipe:
    """What :func:`_values` and :func:`_arrays` work out of each field, once per list of fields
    (a plan's, which ``_statement`` keeps): a poll writes one row, and working this out per call
    cost more than the row."""

    columns: list[_Column] | None  # None when a default is callable (called per call)
    pick: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # every column of a row that has them all
    prepare: list[Callable[[Any], Any] | None]  # per field (see _preparer)
    encoders: list[pgarrays.Encoder | None]  # per field, PostgreSQL's arrays
    # per field, one row's typed parameters; None if a field has no fixed type (its parameter's
    # type would follow its value, and a prepared statement with it)
    scalars: list[pgarrays.ScalarEncoder] | None

    def defaults(self, fields: list[models.Field[Any, Any]]) -> list[_Column]:
        return self.columns or [(f.attname, f.name, f.get_default()) for f in fields]


_RECIPES: dict[int, tuple[list[models.Field[Any, Any]], _Recipe]] = {}


def _recipe(fields: list[models.Field[Any, Any]]) -> _Recipe:
    kept = _RECIPES.get(id(fields))
    if kept is not None and kept[0] is fields:
        return kept[1]
    constant = not any(f.has_default() and callable(f.default) for f in fields)
    attnames = [f.attname for f in fields]
    pick = itemgetter(*attnames) if len(attnames) > 1 else lambda row: (row[attnames[0]],)
    recipe = _Recipe([(f.attname, f.name, f.get_default()) for f in fields] if constant else None,
                     pick, [_preparer(f) for f in fields], [pgarrays.encoder_of(f) for f in fields],
                     _scalar_encoders(fields))
    _RECIPES[id(fields)] = (fields, recipe)
    return recipe


def _scalar_encoders(fields: list[models.Field[Any, Any]]) -> list[pgarrays.ScalarEncoder] | None:
    encoders = [pgarrays.scalar_encoder_of(f) for f in fields]
    return None if None in encoders else encoders  # type: ignore[return-value]


def _picked(recipe: _Recipe, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]] | None:
    """Every row's values in the fields' order, picked in C, when every row has every column by
    its attname (the poll path's rows do); None when one lacks one (a default or a field's name
    stands in: :func:`_values`' slower path)."""
    try:
        return list(map(recipe.pick, rows))
    except KeyError:
        return None


def _with_defaults(recipe: _Recipe, fields: list[models.Field[Any, Any]],
                   row: Mapping[str, Any]) -> list[Any]:
    """``row``'s values in ``fields`` order, by attname or name, a column it leaves out its default."""
    return [row[attname] if attname in row else row.get(name, default)
            for attname, name, default in recipe.defaults(fields)]


def _values(fields: list[models.Field[Any, Any]], rows: Iterable[Mapping[str, Any]],
            fixed: Mapping[str, Any]) -> list[Sequence[Any]]:
    """Each row's values in ``fields`` order, prepared for the driver (the hot loop of ingest):
    picked by :func:`_picked`, and the columns that need preparing (a time, on SQLite; ``fixed``)
    prepared a column at a time."""
    recipe = _recipe(fields)
    rows = rows if isinstance(rows, Sequence) else list(rows)
    picked: list[Sequence[Any]] | None = _picked(recipe, rows)  # type: ignore[assignment]
    if picked is None:
        picked = [_with_defaults(recipe, fields, row) for row in rows]
    adapt = connection.ops.adapt_datetimefield_value
    special = [(i, prep or adapt, fields[i].attname) for i, prep in enumerate(recipe.prepare)
               if prep is not _same or fields[i].attname in fixed]
    if not picked or not special:
        return picked
    columns: list[Sequence[Any]] = list(zip(*picked, strict=True))
    for i, prep, attname in special:
        column = [fixed[attname]] * len(picked) if attname in fixed else columns[i]
        columns[i] = _prepared(prep, column)
    return list(zip(*columns, strict=True))


def _prepared(prepare: Callable[[Any], Any], column: Sequence[Any]) -> Sequence[Any]:
    """``prepare`` of each value of ``column``; once for a value that every row shares (the ``ts``
    of a reading's rows)."""
    if prepare is _same:
        return column
    if column.count(column[0]) == len(column):
        return [prepare(column[0])] * len(column)
    return list(map(prepare, column))


def _merged(table: str, column: str, lower: bool, upper: bool) -> str:
    new, old = f"EXCLUDED.{column}", f"{table}.{column}"
    if not (lower or upper):
        return new
    better = "<" if lower else ">"
    return (f"CASE WHEN {new} IS NULL THEN {old} WHEN {old} IS NULL OR {new} {better} {old} "
            f"THEN {new} ELSE {old} END")
