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
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models
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


class Joined(Sequence[Any]):
    """Stored rows (a queryset, sliced in the database) followed or preceded by a short list: what
    the paginator counts and slices."""

    def __init__(self, stored: models.QuerySet[Any], recent: list[Any], *, recent_first: bool) -> None:
        self.stored, self.recent, self.recent_first = stored, recent, recent_first
        self.stored_n = stored.count()

    def __len__(self) -> int:
        return self.stored_n + len(self.recent)

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        lo, hi, _ = index.indices(len(self))
        first, second, split = ((self.recent, self.stored, len(self.recent)) if self.recent_first
                                else (self.stored, self.recent, self.stored_n))
        return [*first[lo:min(hi, split)], *second[max(lo - split, 0):max(hi - split, 0)]]


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
    """The built rows of a list, and from where on (per system) they replace the stored ones."""

    rows: list[models.Model]
    first: dict[str, date]  # system → the first local date with built rows
    replaces: Callable[[Any], bool]  # whether a stored row of those dates is replaced


def hourly(model: type[models.Model], filterset: FilterSet, now: datetime) -> Live:
    spans: dict[str, OpenSpan] = {s.pk: open_span(s, now) for s in _systems(filterset, now)}
    rows = [row for span in spans.values() for row in span.rows_of(model)]
    return Live(live_instances(model, rows, filterset, now), {pk: span.day for pk, span in spans.items()},
                lambda r: r.system_id in spans and r.start_utc >= spans[r.system_id].start)


def daily(model: type[models.Model], date_field: str, filterset: FilterSet, now: datetime) -> Live:
    found: dict[str, OpenDays] = {s.pk: open_days(s, now) for s in _systems(filterset, now)}
    days = {pk: d.first for pk, d in found.items() if d.first is not None}
    rows = [row for d in found.values() for row in d.rows_of(model)]
    return Live(live_instances(model, rows, filterset, now), days,
                lambda r: r.system_id in days and getattr(r, date_field) >= days[r.system_id])


def merged(queryset: models.QuerySet[Any], live: Live, date_field: str, ordering: Sequence[str]
           ) -> Sequence[Any]:
    """The stored rows before each system's open span and the built rows after, in ``ordering``.

    Rows of days before any open span stay in the database (paged there) when the list is ordered
    by date first; the few rows of the open days are merged in Python.
    """
    first: date | None = min(live.first.values(), default=None)
    if first is None:
        return Joined(queryset, [], recent_first=False)
    by_date = bool(ordering) and ordering[0].lstrip("-") == date_field
    stored, recent = ((queryset.filter(**{f"{date_field}__lt": first}),
                       queryset.filter(**{f"{date_field}__gte": first})) if by_date
                      else (queryset.none(), queryset))
    rows = [r for r in recent if not live.replaces(r)]
    rows += live.rows
    for key in reversed(ordering):
        rows.sort(key=operator.attrgetter(key.lstrip("-")), reverse=key.startswith("-"))
    return Joined(stored, rows, recent_first=by_date and ordering[0].startswith("-"))
