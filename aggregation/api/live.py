"""The rollup lists: the stored rows, and each system's open span built on read.

The periodic rollup stores an hour's rows as it closes its slots (every due slot, or whole hours
only with ``SOLARMON_ROLLUP_WHOLE_HOURS``), and a day's daily rows when it closes one of its
hours, so the stored rows of the current hour and of today are partial or missing. From the open
span on (``aggregation.selectors.open_span`` for hours, ``open_days`` for days) the lists show
the rows built on read instead, the same either way, and live to the poll before the last.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models
from django.db.models.functions import Collate
from django_filters import FilterSet

from aggregation.buckets import local_date
from aggregation.selectors import OpenDays, OpenSpan, open_days, open_span
from catalog import models as catalog

_LOOKUPS: dict[str, Callable[[Any, Any], bool]] = {"exact": operator.eq, "gte": operator.ge,
                                                    "lte": operator.le}


def _matches(row: dict[str, Any], filterset: FilterSet) -> bool:
    """Whether a built row passes the list's filters (the same lookups the queryset was filtered by)."""
    for name, value in filterset.form.cleaned_data.items():
        rule = filterset.filters[name]
        if value not in (None, "") and not _LOOKUPS[rule.lookup_expr](row.get(rule.field_name), value):
            return False
    return True


def live_instances(model: type[models.Model], rows: list[dict[str, Any]], filterset: FilterSet,
                   now: datetime) -> list[models.Model]:
    """The built ``rows`` of ``model`` that pass the filters, as (unsaved) rows."""
    return [model(**row, created_at=now, updated_at=now) for row in rows if _matches(row, filterset)]


def _systems(filterset: FilterSet, now: datetime) -> list[catalog.System]:
    """The systems whose open span the list can reach (one with ``system_id``; none when ``to`` is
    before the system's yesterday, the earliest an open span starts)."""
    found = filterset.form.cleaned_data
    systems = catalog.System.objects.filter(**({"pk": found["system_id"]} if found.get("system_id") else {}))
    last = found.get("to")
    return [system for system in systems
            if last is None or last >= local_date(now, ZoneInfo(system.timezone)) - timedelta(days=1)]


@dataclass(frozen=True)
class Live:
    """The built rows of a list, and which stored rows they replace."""

    rows: list[models.Model]
    replaced: models.Q | None  # the stored rows from each system's open span on; None: no span


def _any(parts: list[models.Q]) -> models.Q | None:
    out: models.Q | None = None
    for part in parts:
        out = part if out is None else out | part
    return out


def hourly(model: type[models.Model], filterset: FilterSet, now: datetime) -> Live:
    spans: dict[str, OpenSpan] = {s.pk: open_span(s, now) for s in _systems(filterset, now)}
    rows = [row for span in spans.values() for row in span.rows_of(model)]
    return Live(live_instances(model, rows, filterset, now),
                _any([models.Q(system_id=pk, start_utc__gte=span.start) for pk, span in spans.items()]))


def daily(model: type[models.Model], date_field: str, filterset: FilterSet, now: datetime) -> Live:
    found: dict[str, OpenDays] = {s.pk: open_days(s, now) for s in _systems(filterset, now)}
    rows = [row for d in found.values() for row in d.rows_of(model)]
    return Live(live_instances(model, rows, filterset, now),
                _any([models.Q(system_id=pk, **{f"{date_field}__gte": d.first})
                      for pk, d in found.items() if d.first is not None]))


class _Descending:
    """A sort key part that sorts the other way round."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


class Ordering:
    """A total order of a list's rows, the same in the database and in Python: the requested
    fields, then the primary key's in the first field's direction (so the database can walk the
    key's index, either way); without any, the list's default order. A null below every value;
    text compared by code point (PostgreSQL's ``C`` collation, SQLite's own)."""

    def __init__(self, model: type[models.Model], requested: Sequence[str], default: Sequence[str]) -> None:
        if requested:
            names = {key.lstrip("-") for key in requested}
            way = "-" if requested[0].startswith("-") else ""
            key_fields = [model._meta.get_field(name).attname  # type: ignore[union-attr]
                          for name in model._meta.pk.field_names]  # type: ignore[union-attr,attr-defined]
            self.keys = [*requested, *(f"{way}{name}" for name in key_fields if name not in names)]
        else:
            self.keys = list(default)
        self.text = {f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField)}
        self.text |= {f.attname for f in model._meta.concrete_fields
                      if isinstance(f, models.ForeignKey) and isinstance(f.target_field, models.CharField)}

    def expressions(self, vendor: str) -> list[models.OrderBy]:
        out = []
        for key in self.keys:
            name = key.lstrip("-")
            column: Any = models.F(name)
            if vendor == "postgresql" and name in self.text:
                column = Collate(column, "C")
            out.append(column.desc(nulls_last=True) if key.startswith("-") else column.asc(nulls_first=True))
        return out

    def key(self, row: Any) -> tuple[Any, ...]:
        parts: list[Any] = []
        for key in self.keys:
            value = getattr(row, key.lstrip("-"))
            part = (value is not None, value if value is not None else 0)
            parts.append(_Descending(part) if key.startswith("-") else part)
        return tuple(parts)


class Interleaved(Sequence[Any]):
    """The stored rows that are kept (a queryset in a total order, sliced in the database) and a
    short list of built rows, merged in that order: what the paginator counts and slices.

    A page reads its own window of stored rows, widened by as many rows as there are built ones
    (and one before, to place them), so every page costs the same however long the list is.
    """

    def __init__(self, kept: models.QuerySet[Any], built: list[Any], order: Ordering) -> None:
        self.kept, self.order = kept, order
        self.built = sorted(built, key=order.key)
        self.kept_n = kept.count()

    def __len__(self) -> int:
        return self.kept_n + len(self.built)

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        lo, hi, _ = index.indices(len(self))
        if hi <= lo:
            return []
        first = max(lo - len(self.built), 0)  # no page position before ``lo`` holds a later stored row
        window = list(self.kept[max(first - 1, 0):hi])
        candidates = self.built
        at = 0
        if first > 0:  # the stored row before the window places the built rows
            anchor = self.order.key(window.pop(0))
            before = sum(1 for row in self.built if self.order.key(row) < anchor)
            at, candidates = first + before, self.built[before:]
        rows = sorted([*window, *candidates], key=self.order.key)
        return rows[lo - at:hi - at]


def merged(queryset: models.QuerySet[Any], live: Live, requested: Sequence[str], default: Sequence[str]
           ) -> Sequence[Any]:
    """The stored rows but those the built ones replace, and the built rows, in the ``requested``
    order (see :class:`Ordering`), else the list's ``default`` order."""
    order = Ordering(queryset.model, requested, default)
    kept = queryset if live.replaced is None else queryset.exclude(live.replaced)
    return Interleaved(kept.order_by(*order.expressions(connection.vendor)), live.rows, order)
