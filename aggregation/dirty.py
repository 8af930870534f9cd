"""Days to recompute because samples arrived after they were rolled up.

Live samples (in the current or the previous local hour) need nothing: the hourly task re-rolls
those hours anyway. Older ones mark their (system, local date) dirty; the hourly task
recomputes dirty days and clears the marks it has handled (a mark made meanwhile stays).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone

from aggregation.buckets import local_date
from aggregation.models import DirtyDay
from aggregation.rollups import rollup_day
from catalog.models import System

log = logging.getLogger(__name__)

# The hourly task re-rolls the previous hour and the current one: newer samples are covered.
LIVE_WINDOW = timedelta(hours=1)


def _hour_floor(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def is_late(ts: datetime, now: datetime | None = None) -> bool:
    """Whether a sample at ``ts`` lands in an hour the hourly task will not re-roll by itself."""
    now = now or timezone.now()
    return ts < _hour_floor(now) - LIVE_WINDOW


def mark_dirty(system_id: str, ts: datetime) -> None:
    """Mark the local day containing ``ts`` for recomputation (idempotent)."""
    tz = System.objects.filter(pk=system_id).values_list("timezone", flat=True).first()
    if tz is None:
        return
    day = local_date(ts, ZoneInfo(tz))
    DirtyDay.objects.bulk_create([DirtyDay(system_id=system_id, date=day, marked_at=timezone.now())],
                                 update_conflicts=True, unique_fields=["system", "date"],
                                 update_fields=["marked_at"])


def process_dirty() -> Counter[str]:
    """Recompute every dirty day, then clear the marks made before the recomputation began."""
    written: Counter[str] = Counter()
    for mark in list(DirtyDay.objects.order_by("date")):
        began = timezone.now()
        written += rollup_day(mark.system_id, mark.date)
        DirtyDay.objects.filter(models.Q(pk=mark.pk) & models.Q(marked_at__lte=began)).delete()
        log.info("recomputed %s %s after late samples", mark.system_id, mark.date)
    return written
