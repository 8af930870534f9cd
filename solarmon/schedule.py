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


def beat_entries() -> list[Entry]:
    """Every periodic task solarmon runs."""
    dispatch = float(getattr(settings, "SOLARMON_DISPATCH_PERIOD_S", 2))
    discovery = DiscoverySettings.load().interval_s  # the environment, else the stored settings
    return [
        Entry("poll: dispatch due devices", "telemetry.tasks.dispatch_polls", every_s=dispatch,
              expires_s=dispatch * 0.9,
              description="Queues a poll for every device whose interval has come (per bus)."),
        Entry("discovery: scan serial ports", "discovery.tasks.run_discovery", every_s=discovery,
              expires_s=discovery * 0.9,
              description="Verifies known devices, rebinds moved ones, configures new ones."),
        # Every quarter hour (from 5 past), so today's totals on the dashboard stay current.
        Entry("rollup: recent hours", "aggregation.tasks.rollup_recent", crontab="5,20,35,50 *",
              expires_s=840, description="Re-rolls the previous and current hour's days of every "
              "system, and days touched by late samples."),
        Entry("rollup: closed days", "aggregation.tasks.rollup_closed_days", crontab="15 *", expires_s=3300,
              description="Finishes yesterday for systems whose local midnight has just passed."),
        Entry("retention: prune raw samples", "aggregation.tasks.prune_raw_samples", crontab="40 3",
              expires_s=23 * 3600,
              description="Deletes raw samples older than SOLARMON_RAW_RETENTION_DAYS whose days "
              "are rolled up."),
    ]


def install_beat_schedule() -> list[str]:
    """Create the periodic tasks that do not exist yet; return the names created."""
    created = []
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
