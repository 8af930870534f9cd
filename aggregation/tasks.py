"""Celery tasks for rollups. Thin: they pick days and call :func:`aggregation.rollups.rollup_day`.

``rollup_recent`` runs a few minutes after every hour: for each system it recomputes the local
days containing the previous hour and the current (partial) one, so late samples of those hours
are picked up; then it recomputes days marked dirty by late samples. ``rollup_closed_days`` runs
hourly too and finishes "yesterday" for the systems whose local midnight has just passed (each
system has its own timezone, so "after midnight" comes at a different UTC hour for each).
Both are idempotent: a day recomputed twice gives the same rows.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from celery import shared_task
from django.utils import timezone

from aggregation.buckets import local_date
from aggregation.dirty import process_dirty
from aggregation.rollups import rollup_day
from catalog.models import System

log = logging.getLogger(__name__)

ROLLUP_TIME_LIMIT_S = 50 * 60


def recent_days(tz: ZoneInfo, now: datetime) -> list[date]:
    """The local days of the previous hour and of now (one day, or two just after midnight)."""
    return sorted({local_date(now - timedelta(hours=1), tz), local_date(now, tz)})


def closed_day(tz: ZoneInfo, now: datetime) -> date | None:
    """Yesterday, if local midnight passed within the last hour; else None."""
    local = now.astimezone(tz)
    if (local - local.replace(hour=0, minute=0, second=0, microsecond=0)) < timedelta(hours=1):
        return local.date() - timedelta(days=1)
    return None


@shared_task(ignore_result=True, soft_time_limit=ROLLUP_TIME_LIMIT_S - 60, time_limit=ROLLUP_TIME_LIMIT_S)
def rollup_recent() -> int:
    """Recompute the current and previous hours' days of every system, then the dirty days."""
    now = timezone.now()
    days = 0
    for system_id, tz in System.objects.values_list("system_id", "timezone"):
        for day in recent_days(ZoneInfo(tz), now):
            rollup_day(system_id, day)
            days += 1
    process_dirty()
    return days


@shared_task(ignore_result=True, soft_time_limit=ROLLUP_TIME_LIMIT_S - 60, time_limit=ROLLUP_TIME_LIMIT_S)
def rollup_closed_days() -> int:
    """Finish yesterday for systems whose local day has just ended."""
    now = timezone.now()
    done = 0
    for system_id, tz in System.objects.values_list("system_id", "timezone"):
        day = closed_day(ZoneInfo(tz), now)
        if day is not None:
            rollup_day(system_id, day)
            done += 1
    return done


@shared_task(ignore_result=True, soft_time_limit=ROLLUP_TIME_LIMIT_S - 60, time_limit=ROLLUP_TIME_LIMIT_S)
def prune_raw_samples() -> int:
    """Delete raw samples past the retention age whose days are rolled up (see retention.py)."""
    from aggregation.retention import prune_raw_samples as prune

    return sum(prune().values())


GUARD_TIME_LIMIT_S = 30 * 60


@shared_task(ignore_result=True, soft_time_limit=GUARD_TIME_LIMIT_S - 60, time_limit=GUARD_TIME_LIMIT_S)
def guard_disk() -> str:
    """Check the data disk; below the threshold, prune raw samples early (see diskguard.py)."""
    from aggregation.diskguard import guard_disk as guard

    record = guard()
    return record.level if record else "busy"
