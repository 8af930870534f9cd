"""The periodic work, in one place: installed into django-celery-beat's tables.

Entries are created when missing and never overwritten, so intervals edited in the admin
(Periodic tasks) survive restarts. Each entry's ``expires`` is just under its period, so a
stalled worker never piles up work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from discovery.conf import DiscoverySettings


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    every_s: float | None = None  # an interval ...
    crontab: str | None = None  # ... or "minute hour" in UTC
    expires_s: float | None = None
    description: str = ""


def dispatch_period_s() -> float:
    """Seconds between two runs of the poll dispatcher."""
    return float(settings.SOLARMON_DISPATCH_PERIOD_S)


def dispatch_lookahead_s() -> float:
    """How far ahead a dispatch queues polls, each for its own due time (a Celery ETA).

    Two periods: a dispatch that starts late, or one that is skipped (the previous one still
    running, or expired in a busy queue), leaves no poll to start late; the one before has
    already queued them.
    """
    return 2 * dispatch_period_s()


def beat_entries() -> list[Entry]:
    """Every periodic task solarmon runs."""
    dispatch = dispatch_period_s()
    discovery = DiscoverySettings.load().interval_s  # the environment, else the stored settings
    guard = settings.SOLARMON_DISK_GUARD_PERIOD_S
    return [
        Entry("poll: dispatch due devices", "telemetry.tasks.dispatch_polls", every_s=dispatch,
              expires_s=dispatch * 0.9,
              description="Queues a poll for every device whose interval has come (per bus)."),
        Entry("discovery: scan serial ports", "discovery.tasks.dispatch_discovery", every_s=discovery,
              expires_s=discovery * 0.9,
              description="On every running collector, on its own ports: verifies known devices, "
              "rebinds moved ones, configures new ones."),
        Entry("poll: derive missed totals", "telemetry.tasks.derive_catch_up", every_s=60, expires_s=54,
              description="Derives array and system totals of recent slots whose derivation never ran."),
        # Every quarter hour (from 5 past): each run reads only what arrived since the last one.
        Entry("rollup: recent hours", "aggregation.tasks.rollup_recent", crontab="5,20,35,50 *",
              expires_s=840, description="Rolls up the samples that arrived since the last run (5-minute "
              "tiers, then the touched hours and days), and the slots around late samples."),
        Entry("storage: disk guard", "aggregation.tasks.guard_disk", every_s=guard, expires_s=guard * 0.9,
              description="Checks the free space of the data disk; below the threshold, prunes the "
              "oldest raw samples early (SOLARMON_DISK_MIN_FREE_PCT / _MB)."),
        Entry("alerts: evaluate offline devices and disk space", "alerts.tasks.evaluate_alerts",
              every_s=settings.SOLARMON_ALERT_EVALUATE_PERIOD_S,
              expires_s=settings.SOLARMON_ALERT_EVALUATE_PERIOD_S * 0.9,
              description="Raises the alerts no poll can raise: devices that stopped answering, "
              "the data disk filling up."),
        Entry("alerts: prune history", "alerts.tasks.prune_alert_history", crontab="50 3",
              expires_s=23 * 3600,
              description="Deletes alerts cleared more than SOLARMON_ALERT_HISTORY_DAYS ago."),
        Entry("health: worker heartbeat", "solarmon.tasks.worker_heartbeat", every_s=30, expires_s=25,
              description="Shows on /api/health/ that a worker takes tasks from the queue."),
        Entry("retention: prune raw samples", "aggregation.tasks.prune_raw_samples", crontab="40 3",
              expires_s=23 * 3600,
              description="Deletes raw samples older than SOLARMON_RAW_RETENTION_DAYS whose tiers and "
              "rollups hold them, and tiers past their retention."),
    ]


# Entries whose task was replaced: (name, old task). Only the task changes; a schedule edited
# in the admin is kept.
REPLACED_TASKS = [("discovery: scan serial ports", "discovery.tasks.run_discovery")]


def install_beat_schedule() -> list[str]:
    """Create the periodic tasks that do not exist yet; return the names created."""
    created = []
    tasks = {entry.name: entry.task for entry in beat_entries()}
    for name, old_task in REPLACED_TASKS:
        PeriodicTask.objects.filter(name=name, task=old_task).update(task=tasks[name])
    for entry in beat_entries():
        if PeriodicTask.objects.filter(name=entry.name).exists():
            continue
        fields: dict[str, object] = {"task": entry.task, "description": entry.description,
                                     "kwargs": json.dumps({})}
        if entry.expires_s:
            fields["expire_seconds"] = max(1, int(entry.expires_s))
        if entry.every_s is not None:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=max(1, int(entry.every_s)), period=IntervalSchedule.SECONDS)
        else:
            minute, hour = (entry.crontab or "0 *").split()
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*",
                timezone="UTC")
        PeriodicTask.objects.create(name=entry.name, **fields)
        created.append(entry.name)
    return created
