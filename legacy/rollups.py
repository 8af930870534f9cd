"""The one place the import calls the aggregation app: recompute a day, or write imported hours."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

from django.db import models

from aggregation import rollups
from catalog.models import System


def recompute_day(system_id: str, day: date) -> Counter[str]:
    """Solarmon's own rollups of one local day, from the imported samples."""
    return rollups.rollup_day(system_id, day)


def recompute_days(system_id: str, days: Iterable[date], done: Callable[[date, float, int], None],
                   writing: Callable[[], AbstractContextManager[object]] | None = None,
                   bound_s: float | None = None) -> Counter[str]:
    """Solarmon's own rollups of many local days (the cells' days included), each computed before its
    short write transactions (each run in ``writing()`` when given, and on SQLite held at most about
    ``bound_s``); ``done(day, seconds of its longest write, writes interrupted)`` after
    each. ``days`` may wait for each
    day's samples."""
    return rollups.rollup_days(system_id, days, done=done, writing=writing, bound_s=bound_s)


def write_imported(system: System, day: date, rows: dict[type[models.Model], list[dict[str, Any]]]
                   ) -> Counter[str]:
    """Upsert rollup rows imported from the original (``source`` imported) for one local day."""
    return rollups.write_rows(system, day, rows)
