"""Device status: the polling policy in one place.

Why these numbers: a device is *online* while its last good reading is younger than
``STALE_AFTER_INTERVALS`` poll intervals (one missed poll is normal on a busy RS485 bus);
after that its values are *stale* and shown as such. After ``OFFLINE_AFTER_FAILURES``
consecutive failures, or when nothing good arrived for ``OFFLINE_AFTER_INTERVALS``
intervals, it is *offline*. A failing device is retried with exponential backoff
(interval × 2^(n-1), capped at ``MAX_BACKOFF_S``) so it does not eat the bus time of the
devices that work; the others keep their schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from telemetry.choices import DeviceState
from telemetry.models import DeviceStatus

STALE_AFTER_INTERVALS = 3
OFFLINE_AFTER_INTERVALS = 20
OFFLINE_AFTER_FAILURES = 5
MAX_BACKOFF_S = 300.0


def effective_state(status: DeviceStatus | None, now: datetime) -> str:
    """The state to show now, aged from ``last_seen`` (a stopped poller cannot leave 'online')."""
    if status is None or (status.last_seen is None and status.consecutive_failures == 0):
        return DeviceState.UNKNOWN
    if status.consecutive_failures >= OFFLINE_AFTER_FAILURES or status.last_seen is None:
        return DeviceState.OFFLINE
    age = (now - status.last_seen).total_seconds()
    interval = max(status.poll_interval_s, 1.0)
    if age > OFFLINE_AFTER_INTERVALS * interval:
        return DeviceState.OFFLINE
    if age > STALE_AFTER_INTERVALS * interval:
        return DeviceState.STALE
    return DeviceState.ONLINE


def backoff_s(interval_s: float, failures: int) -> float:
    """Seconds until the next try after ``failures`` consecutive failures."""
    if failures <= 0:
        return interval_s
    return min(interval_s * 2 ** (failures - 1), max(MAX_BACKOFF_S, interval_s))


def record_success(status: DeviceStatus, now: datetime, slot: datetime, adapter_id: str,
                   duration_ms: int, flags: Sequence[str] = ()) -> None:
    """A good reading arrived; ``flags`` are the values in it that were left unknown."""
    status.flagged_values += len(flags)
    if flags:
        status.last_flag = flags[-1][:2000]
    status.last_seen = now
    status.consecutive_failures = 0
    status.active_adapter_id = adapter_id or ""
    status.last_duration_ms = duration_ms
    status.next_poll_at = slot + timedelta(seconds=status.poll_interval_s)
    status.state = effective_state(status, now)
    status.save()


def record_failure(status: DeviceStatus, now: datetime, error: str, duration_ms: int,
                   active_adapter_id: str = "") -> None:
    status.consecutive_failures += 1
    status.last_error = error[:2000]
    status.last_error_at = now
    status.last_duration_ms = duration_ms
    if active_adapter_id:
        status.active_adapter_id = active_adapter_id
    status.next_poll_at = now + timedelta(seconds=backoff_s(status.poll_interval_s,
                                                            status.consecutive_failures))
    status.state = effective_state(status, now)
    status.save()
