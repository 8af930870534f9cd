"""Retention: raw samples older than ``SOLARMON_RAW_RETENTION_DAYS`` are deleted, but only
once the days they belong to are rolled up.

For each system the prune limit is the earlier of the retention cutoff and the start of the
first local day (from the oldest sample on) that has no system daily rollup, or that is
marked dirty: a day whose rollup is missing or stale keeps its raw samples until a rollup
has been written for it. Deletes run per sample table through the ``ts`` indexes.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models, transaction
from django.db.models import Min
from django.utils import timezone

from aggregation.buckets import local_date, local_midnight
from aggregation.models import DirtyDay, SystemDailySummary
from catalog.models import System
from telemetry import models as t

SAMPLE_MODELS: tuple[type[models.Model], ...] = (
    t.EnergySample, t.ArraySample, t.SystemSample, t.MeterSample, t.BatteryBankSample,
    t.BatteryUnitSample, t.BatteryCellSample)


def prune_limit(system: System, now: datetime, keep_days: int) -> datetime | None:
    """The instant before which this system's raw samples may go (None: nothing may go)."""
    tz = ZoneInfo(system.timezone)
    firsts = [model.objects.filter(system=system).aggregate(m=Min("ts"))["m"]  # type: ignore[attr-defined]
              for model in (t.EnergySample, t.MeterSample, t.BatteryBankSample)]
    oldest = min((ts for ts in firsts if ts is not None), default=None)
    cutoff = now - timedelta(days=keep_days)
    if oldest is None or oldest >= cutoff:
        return None
    rolled = set(SystemDailySummary.objects.filter(system=system).values_list("date", flat=True))
    dirty = set(DirtyDay.objects.filter(system=system).values_list("date", flat=True))
    day: date = local_date(oldest, tz)
    while local_midnight(day, tz) < cutoff:
        if day not in rolled or day in dirty:
            return min(cutoff, local_midnight(day, tz))
        day += timedelta(days=1)
    return cutoff


def prune_raw_samples(now: datetime | None = None, keep_days: int | None = None) -> dict[str, int]:
    """Delete old raw samples of every system whose days are rolled up; rows deleted per table."""
    now = now or timezone.now()
    keep = settings.SOLARMON_RAW_RETENTION_DAYS if keep_days is None else keep_days
    deleted: dict[str, int] = {}
    for system in System.objects.all():
        limit = prune_limit(system, now, keep)
        if limit is None:
            continue
        with transaction.atomic():
            for model in SAMPLE_MODELS:
                count, _ = model.objects.filter(system=system, ts__lt=limit).delete()  # type: ignore[attr-defined]
                table = model._meta.db_table
                deleted[table] = deleted.get(table, 0) + count
    if any(deleted.values()):
        logging.getLogger(__name__).info("pruned raw samples: %s", deleted)
    return deleted
