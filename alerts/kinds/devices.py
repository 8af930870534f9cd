"""Device offline: no good reading for longer than the rule's delay after the device went stale."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from alerts.choices import DEVICE_SUBJECTS, Trigger
from alerts.kinds import register
from alerts.kinds.base import Finding, Limit, Observation, RuleKind
from catalog import models as catalog
from catalog.models import Collector
from telemetry.choices import DeviceKind, DeviceState
from telemetry.models import DeviceStatus
from telemetry.status import STALE_AFTER_INTERVALS, effective_state

if TYPE_CHECKING:
    from alerts.data import DeviceData
    from alerts.models import AlertRule


def monitored_devices() -> set[tuple[str, str]]:
    """(device type, id) of every device that is polled: enabled, with an enabled adapter."""
    found = {(DeviceKind.INVERTER.value, pk) for pk in catalog.Inverter.objects.filter(
        adapter__enabled=True).values_list("pk", flat=True)}
    found |= {(DeviceKind.METER.value, pk) for pk in catalog.Meter.objects.filter(
        adapter__enabled=True).values_list("pk", flat=True)}
    found |= {(DeviceKind.BATTERY_PACK.value, pk) for pk in catalog.BatteryPackAdapter.objects.filter(
        enabled=True, adapter__enabled=True).values_list("pack_id", flat=True)}
    return found


def stale_since(status: DeviceStatus) -> datetime | None:
    """When the device stopped counting as online: its last good reading plus the stale window."""
    if status.last_seen is None:
        return None
    return status.last_seen + timedelta(seconds=STALE_AFTER_INTERVALS * max(status.poll_interval_s, 1.0))


def collector_starts() -> dict[str, datetime]:
    """When each collector's worker last started (its devices are watched from then on)."""
    rows = Collector.objects.filter(started_at__isnull=False).values_list("name", "started_at")
    return {name: started for name, started in rows if started is not None}


def offline_since(status: DeviceStatus, starts: dict[str, datetime]) -> datetime | None:
    """Since when the device counts as offline *while solarmon was watching it*: a device last
    seen before its collector's worker started (solarmon was stopped, or that host was down)
    has the delay counted from that start, so a restart raises no alert for devices that answer
    its first polls. A device not polled yet counts from the latest start of any collector."""
    since = stale_since(status)
    started = starts.get(status.collector) or max(starts.values(), default=None)
    if since is None or started is None:
        return since
    return max(since, started)


_ANSWERED = (False, True)


@register
class DeviceOffline(RuleKind):
    """Raised when a device has not been read for the rule's delay (``raise_after_s``) after it
    went stale; cleared by its next good reading. Evaluated after each poll (which clears it) and
    periodically (which raises it, since a dead device makes no polls that succeed)."""

    kind = "device_offline"
    label = "Device offline"
    help = ("No good reading since the device went stale, for longer than “raise after”. "
            "No limits: the delay is the rule's raise-after time.")
    triggers = frozenset({Trigger.POLL, Trigger.PERIODIC})
    device_kinds = tuple(DEVICE_SUBJECTS)
    clears_unseen = True

    def check(self, rule: AlertRule, data: DeviceData) -> tuple[bool, bool] | None:
        return _ANSWERED  # a poll that wrote rows is a good reading: it clears, never raises

    def quiet_when(self, rule: AlertRule) -> list[tuple[Limit, ...]] | None:
        return []  # a poll never raises it; one clears it only where a watch is in progress

    def values(self, rule: AlertRule, data: DeviceData) -> dict[str, Any]:
        return {"last_seen": data.ts.isoformat()}

    def scan(self, rule: AlertRule, now: datetime) -> Iterable[Finding]:
        monitored = monitored_devices()
        starts = collector_starts()
        statuses = DeviceStatus.objects.all()
        if rule.device_kind:
            statuses = statuses.filter(device_type=rule.device_kind)
        for status in statuses:
            if (status.device_type, status.device_id) not in monitored or not rule.applies_to(
                    status.device_type, status.device_id, status.system_id):
                continue
            state = effective_state(status, now)
            if state == DeviceState.UNKNOWN:
                continue
            online = state == DeviceState.ONLINE
            yield Finding(status.device_type, status.device_id, status.system_id, Observation(
                bad=not online, clear=online, values=_status_values(status, state),
                since=offline_since(status, starts)))

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        return f"{subject} is offline" if raised else f"{subject} is back online"


def _status_values(status: DeviceStatus, state: str) -> dict[str, Any]:
    return {"state": state, "last_seen": status.last_seen.isoformat() if status.last_seen else None,
            "consecutive_failures": status.consecutive_failures, "last_error": status.last_error[:300]}
