"""A column's values as one PostgreSQL binary array, encoded in a few C calls (the ingest hot path),
and one row's values as typed binary scalars (:func:`scalar_encoder_of`).

psycopg's own list dumper is Python per element: it scans the list for its element type twice
(choosing the smallest integer type that holds the values, so a column's parameter type changes
with its values and a prepared statement with it), then packs each element with its length. A
pack tick has some 40 such columns, and that dumping was the largest part of its client CPU. Here
a column's type is the model field's, so the array's type never depends on the values, and an
array is one ``struct.pack`` of its elements (or one encoded element repeated, for a column that
holds one value on every row: the tick's ``ts`` and the pack's ids).

:func:`encode` returns ``None`` for values it does not take (a float in an integer column, a naive
datetime, a type of column not listed here); the caller then sends the plain list, which psycopg
dumps (and checks) as before. The encoded arrays go through :func:`register`'s dumpers, which
pass the bytes as they are with the array's type.
"""

from __future__ import annotations

import struct
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import chain
from typing import Any

from django.db import models
from psycopg import pq
from psycopg.adapt import Dumper

_NULL = b"\xff\xff\xff\xff"
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # binary timestamps count microseconds from here
_MICROSECOND = timedelta(microseconds=1)
_head = struct.Struct("!iiIii").pack  # one dimension: ndims, has nulls, element type, length, lower bound
_length = struct.Struct("!i").pack


class _Array(bytes):
    """An encoded array; subclasses carry the array's type and its elements' for their dumper."""

    oid = 0
    element = 0


class Float8Array(_Array):
    oid, element = 1022, 701


class Int4Array(_Array):
    oid, element = 1007, 23


class Int8Array(_Array):
    oid, element = 1016, 20


class TextArray(_Array):
    oid, element = 1009, 25


class TimestamptzArray(_Array):
    oid, element = 1185, 1184


@lru_cache(maxsize=64)
def _fixed(code: str, count: int) -> Callable[..., bytes]:
    """``struct.pack`` of ``count`` (length, value) pairs of a fixed-size element type."""
    return struct.Struct("!" + f"i{code}" * count).pack


@lru_cache(maxsize=64)
def _run(code: str, count: int) -> Callable[..., bytes]:
    """``struct.pack`` of ``count`` values of a fixed-size element type, back to back."""
    return struct.Struct(f"!{count}{code}").pack


def _packed(code: str, size: int, values: Sequence[Any]) -> bytes:
    if None not in values:
        # The values packed back to back in one call, then each element's length put before it
        # by slicing (one slice per byte of the element): a few C calls whatever the rows.
        count, stride = len(values), size + 4
        run = _run(code, count)(*values)
        out = bytearray(stride * count)
        out[3::stride] = bytes([size]) * count
        for byte in range(size):
            out[4 + byte::stride] = run[byte::size]
        return bytes(out)
    pair = _fixed(code, 1)
    return b"".join([_NULL if v is None else pair(size, v) for v in values])


def _text(value: str) -> bytes:
    data = value.encode()
    return _length(len(data)) + data


def _timestamp(value: datetime) -> bytes:
    if value.tzinfo is None:  # a naive time is not an instant: leave it to psycopg (and Django's warning)
        raise TypeError("naive datetime")
    return _fixed("q", 1)(8, (value - _PG_EPOCH) // _MICROSECOND)


def _elements(encode_one: Callable[[Any], bytes], values: Sequence[Any]) -> bytes:
    """Variable-size elements: a value that every row shares is encoded once."""
    first = values[0]
    if values.count(first) == len(values):
        return (_NULL if first is None else encode_one(first)) * len(values)
    return b"".join([_NULL if v is None else encode_one(v) for v in values])


def _texts(values: Sequence[Any]) -> bytes:
    """Text elements, each its length and its UTF-8 bytes: interleaved in C (a pack's cell ids)."""
    if None in values or values.count(values[0]) == len(values):
        return _elements(_text, values)
    data = list(map(str.encode, values))
    return b"".join(chain.from_iterable(zip(map(_length, map(len, data)), data, strict=True)))


Encoder = tuple[type[_Array], Callable[[Sequence[Any]], bytes]]  # the array's type, its elements' encoder


def encoder_of(field: models.Field[Any, Any]) -> Encoder | None:
    """The array type and element encoder of ``field``'s column, ``None`` for a type not listed
    (the caller keeps it: it depends only on the field)."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if isinstance(target, models.FloatField):
        return Float8Array, lambda values: _packed("d", 8, values)
    if isinstance(target, (models.BigIntegerField, models.PositiveBigIntegerField)):
        return Int8Array, lambda values: _packed("q", 8, values)
    if isinstance(target, (models.IntegerField, models.SmallIntegerField)) and not isinstance(
            target, models.AutoField):
        return Int4Array, lambda values: _packed("i", 4, values)
    if isinstance(target, (models.CharField, models.TextField)):
        return TextArray, _texts
    if isinstance(target, models.DateTimeField):
        return TimestamptzArray, lambda values: _elements(_timestamp, values)
    return None


# Text and integer columns of a device's rows mostly hold the same values at every poll (a
# pack's cell and unit ids, the cell numbers, the status words): their last encodings are kept
# by value, as a tuple (what the caller's columns are), and a hit costs the tuple's hash.
_KEPT: dict[tuple[type[_Array], tuple[Any, ...]], _Array] = {}
_KEEP = 1024
_KEPT_TYPES = frozenset({"TextArray", "Int4Array", "Int8Array"})


def encode_with(found: Encoder | None, values: Sequence[Any]) -> _Array | None:
    """``values`` (non-empty, prepared for the database) as an array of ``found``'s type
    (:func:`encoder_of`), or ``None`` if a value does not fit the column's type as is."""
    if found is None or not values:
        return None
    cls, encode_elements = found
    key = (cls, values) if type(values) is tuple and cls.__name__ in _KEPT_TYPES else None
    if key is not None and (kept := _KEPT.get(key)) is not None:
        return kept
    try:
        body = encode_elements(values)
    except (struct.error, TypeError, AttributeError, OverflowError):
        return None
    encoded = cls(_head(1, int(None in values), cls.element, len(values), 1) + body)
    if key is not None:
        if len(_KEPT) >= _KEEP:
            _KEPT.clear()
        _KEPT[key] = encoded
    return encoded


# One row's values as scalar parameters (a poll of an inverter or a meter writes one row): each
# value packed as its column's binary type (the element type of the column's array), a NULL
# typed too, so that a statement's parameter types never change with the values (psycopg keys a
# prepared statement on them, and an untyped NULL would add a variant for every pattern of
# missing values). Sending forty one-element arrays instead cost the client about 60 % more per
# write (bench/ingest.py).


class _Scalar(bytes):
    oid = 0


class _Null:
    """A NULL of the column's type: its dumper sends no value."""

    oid = 0


ScalarEncoder = Callable[[Any], Any]


def _timestamp_value(value: datetime) -> bytes:
    return _timestamp(value)[4:]


def _scalar(array: type[_Array], pack: Callable[[Any], bytes]) -> tuple[type[_Scalar], _Null, ScalarEncoder]:
    """The value and NULL types of ``array``'s elements, and the encoder of one value."""
    name = array.__name__.removesuffix("Array")
    value_type = type(f"{name}Value", (_Scalar,), {"oid": array.element})
    null = type(f"{name}Null", (_Null,), {"oid": array.element})()
    return value_type, null, lambda value: null if value is None else value_type(pack(value))


_SCALARS: dict[type[_Array], tuple[type[_Scalar], _Null, ScalarEncoder]] = {
    array: _scalar(array, pack) for array, pack in (
        (Float8Array, struct.Struct("!d").pack), (Int4Array, struct.Struct("!i").pack),
        (Int8Array, struct.Struct("!q").pack), (TextArray, str.encode),  # str.encode: TypeError for a number
        (TimestamptzArray, _timestamp_value))}


def scalar_encoder_of(field: models.Field[Any, Any]) -> ScalarEncoder | None:
    """How one value of ``field``'s column becomes a typed binary parameter; ``None`` for a type
    not listed. The encoder raises ``TypeError``, ``AttributeError``, ``struct.error`` or
    ``OverflowError`` for a value that does not fit the column as is (the caller then sends the
    row as arrays, whose path converts what it can and names what it cannot)."""
    found = encoder_of(field)
    return None if found is None else _SCALARS[found[0]][2]


def _dumper(array: type[_Array] | type[_Scalar]) -> type[Dumper]:
    class ArrayDumper(Dumper):
        format = pq.Format.BINARY
        oid = array.oid

        def dump(self, obj: Any) -> bytes:
            return obj  # type: ignore[no-any-return]  # encoded already

    ArrayDumper.__name__ = f"{array.__name__}Dumper"
    return ArrayDumper


def _null_dumper(null: type[_Null]) -> type[Dumper]:
    class NullDumper(Dumper):
        format = pq.Format.BINARY
        oid = null.oid

        def dump(self, obj: Any) -> None:
            return None

    NullDumper.__name__ = f"{null.__name__}Dumper"
    return NullDumper


_DUMPERS: dict[type, type[Dumper]] = {cls: _dumper(cls) for cls in _SCALARS}
for _value_type, _null_value, _ in _SCALARS.values():
    _DUMPERS[_value_type] = _dumper(_value_type)
    _DUMPERS[type(_null_value)] = _null_dumper(type(_null_value))
_REGISTERED: weakref.WeakSet[Any] = weakref.WeakSet()


def register(conn: Any) -> None:
    """Let ``conn`` (a psycopg connection) send the encoded arrays; once per connection."""
    if conn in _REGISTERED:
        return
    for cls, dumper in _DUMPERS.items():
        conn.adapters.register_dumper(cls, dumper)
    _REGISTERED.add(conn)
