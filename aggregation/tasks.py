"""Celery tasks for rollups and retention. Thin: they call :mod:`aggregation.periodic` with the clock.

``rollup_recent`` runs every quarter hour: late samples, then the 5-minute slots that closed since
the last run (see aggregation.periodic). ``prune_raw_samples`` runs nightly. ``rollup_closed_days``
is kept for the beat entry older installations have; it runs the same incremental rollup.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from aggregation import periodic

ROLLUP_TIME_LIMIT_S = 50 * 60


@shared_task(ignore_result=True, soft_time_limit=ROLLUP_TIME_LIMIT_S - 60, time_limit=ROLLUP_TIME_LIMIT_S)
def rollup_recent() -> int:
    """Roll up what arrived since the last run; returns the slots closed."""
    return periodic.rollup_recent(timezone.now()).slots


@shared_task(ignore_result=True, soft_time_limit=ROLLUP_TIME_LIMIT_S - 60, time_limit=ROLLUP_TIME_LIMIT_S)
def rollup_closed_days() -> int:
    """The same as ``rollup_recent`` (the incremental rollup closes each day as it ends)."""
    return periodic.rollup_recent(timezone.now()).slots


@shared_task(ignore_result=True, soft_time_limit=ROLLUP_TIME_LIMIT_S - 60, time_limit=ROLLUP_TIME_LIMIT_S)
def prune_raw_samples() -> int:
    """Delete raw samples past the retention age where tiers and rollups hold them (see retention.py)."""
    return sum(periodic.prune(timezone.now()).values())


GUARD_TIME_LIMIT_S = 30 * 60


@shared_task(ignore_result=True, soft_time_limit=GUARD_TIME_LIMIT_S - 60, time_limit=GUARD_TIME_LIMIT_S)
def guard_disk() -> str:
    """Check the data disk; below the threshold, prune raw samples early (see diskguard.py)."""
    from aggregation.diskguard import guard_disk as guard

    record = guard()
    return record.level if record else "busy"
