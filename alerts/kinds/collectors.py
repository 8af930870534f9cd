"""Collector down: a host that polls devices stopped heartbeating (only with several collectors)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings

from alerts.choices import SubjectType, Trigger
from alerts.kinds import register
from alerts.kinds.base import Finding, Observation, RuleKind
from catalog.choices import CollectorState
from catalog.collectors import collector_state
from catalog.models import Collector

if TYPE_CHECKING:
    from alerts.models import AlertRule


def down_since(collector: Collector) -> datetime | None:
    """When it went down: its clean stop, or its last heartbeat plus the down-after time."""
    beat = collector.last_heartbeat
    if beat is None:
        return None  # never seen running: down from the first look
    if collector.stopped_at is not None and collector.stopped_at >= beat:
        return collector.stopped_at
    return beat + timedelta(seconds=settings.SOLARMON_COLLECTOR_DOWN_AFTER_S)


@register
class CollectorDown(RuleKind):
    """Raised when a collector has been down (no heartbeat for SOLARMON_COLLECTOR_DOWN_AFTER_S,
    or shut down) for the rule's "raise after" time; cleared when it heartbeats again. Only with
    several collectors: a single host's worker that stops is the whole of solarmon stopping,
    which the health check and the devices' offline alerts report. Its devices are polled by
    nobody meanwhile (README "Scale: collectors")."""

    kind = "collector_down"
    label = "Collector down"
    help = ("A collector (a host that polls devices) has not heartbeated, or shut down, for longer "
            "than “raise after”; only when there are several collectors. No limits.")
    triggers = frozenset({Trigger.PERIODIC})
    clears_unseen = True
    subject_type = SubjectType.COLLECTOR

    def scan(self, rule: AlertRule, now: datetime) -> Iterable[Finding]:
        collectors = list(Collector.objects.order_by("name"))
        if len(collectors) < 2:
            return
        for collector in collectors:
            up = collector_state(collector, now) == CollectorState.UP
            beat, stopped = collector.last_heartbeat, collector.stopped_at
            yield Finding(SubjectType.COLLECTOR, collector.name, None, Observation(
                bad=not up, clear=up, since=None if up else down_since(collector), values={
                    "state": CollectorState.UP if up else CollectorState.DOWN, "host": collector.host,
                    "last_heartbeat": beat.isoformat() if beat else None,
                    "stopped_at": stopped.isoformat() if stopped else None}))

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        if not raised:
            return f"{subject} is up again"
        if values.get("last_heartbeat") is None:
            return f"{subject} is down: its worker was never seen running"
        return f"{subject} is down: its devices are not polled"
