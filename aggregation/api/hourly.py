"""The hourly rollup lists: the stored rows, and each system's open span built on read.

The periodic rollup stores an hour's rows as it closes its slots (every due slot, or whole hours
only with ``SOLARMON_ROLLUP_WHOLE_HOURS``), so the stored rows of the current hour are partial or
missing. From the open span's start on (``aggregation.selectors.open_span``) the list shows the
rows built on read instead, the same either way, and live to the poll before the last.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models
from django_filters import FilterSet

from aggregation.buckets import local_date
from aggregation.selectors import OpenSpan, open_span
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


def live_instances(model: type[models.Model], spans: dict[str, OpenSpan], filterset: FilterSet,
                   now: datetime) -> list[models.Model]:
    """The open spans' built rows of ``model`` that pass the filters, as (unsaved) rows."""
    return [model(**row, created_at=now, updated_at=now) for span in spans.values()
            for row in span.rows_of(model) if _matches(row, filterset)]


def open_spans(filterset: FilterSet, now: datetime) -> dict[str, OpenSpan]:
    """The open span of every system the list can reach (one with ``system_id``; none when ``to``
    is before the system's yesterday, the earliest an open span starts)."""
    found = filterset.form.cleaned_data
    systems = catalog.System.objects.filter(**({"pk": found["system_id"]} if found.get("system_id") else {}))
    last = found.get("to")
    return {system.pk: open_span(system, now) for system in systems
            if last is None or last >= local_date(now, ZoneInfo(system.timezone)) - timedelta(days=1)}


def merged(queryset: models.QuerySet[Any], spans: dict[str, OpenSpan], live: list[models.Model],
           ordering: Sequence[str]) -> Sequence[Any]:
    """The stored rows before each system's open span and the built rows after, in ``ordering``.

    Rows of days before any open span stay in the database (paged there) when the list is ordered
    by date first; the few rows of the open days are merged in Python.
    """
    first: date | None = min((span.day for span in spans.values()), default=None)
    if first is None:
        return Joined(queryset, [], recent_first=False)
    by_date = bool(ordering) and ordering[0].lstrip("-") == "date"
    stored, recent = (queryset.filter(date__lt=first), queryset.filter(date__gte=first)) if by_date \
        else (queryset.none(), queryset)
    rows = [r for r in recent if r.system_id not in spans or r.start_utc < spans[r.system_id].start]
    rows += live
    for key in reversed(ordering):
        rows.sort(key=operator.attrgetter(key.lstrip("-")), reverse=key.startswith("-"))
    return Joined(stored, rows, recent_first=by_date and ordering[0].startswith("-"))
