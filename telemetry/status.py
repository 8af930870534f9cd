"""Device status: the polling policy in one place.

Why these numbers: a device is *online* while its last good reading is younger than
``STALE_AFTER_INTERVALS`` poll intervals (one missed poll is normal on a busy RS485 bus);
after that its values are *stale* and shown as such. After ``OFFLINE_AFTER_FAILURES``
consecutive failures, or when nothing good arrived for ``OFFLINE_AFTER_INTERVALS``
intervals, it is *offline*.

Errors, by what retrying can do about them:
- a transient one (timeout, dropped link, garbage) is retried with exponential backoff
  (interval × 2^(n-1), capped at ``MAX_BACKOFF_S``), so a dead device does not eat the bus
  time of the devices that work; the others keep their schedule;
- a permanent one (wrong device on the port, a config the driver cannot use) is not retried
  until the adapter's configuration changes (any save of the adapter counts): the device is
  offline and ``last_error`` says why;
- a poll that was due but not made (expired in the queue, bus busy, collector down, the
  dispatcher stalled) is a *missed poll*: counted per device and logged as a warning.

The poll writes the fields it owns (``POLL_FIELDS``); missed polls are counted with
``UPDATE … SET missed_polls = missed_polls + n``, so the dispatcher and a poll finishing at
the same moment never overwrite each other's counts.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import F, Q
from django.db.models.base import ModelState
from django.db.models.signals import post_save

from telemetry.choices import DeviceState
from telemetry.models import DeviceStatus
from telemetry.statements import execute

log = logging.getLogger(__name__)

STALE_AFTER_INTERVALS = 3
OFFLINE_AFTER_INTERVALS = 20
OFFLINE_AFTER_FAILURES = 5
MAX_BACKOFF_S = 300.0
PERMANENT_NOTE = " (permanent: not retried until the adapter's configuration changes)"
POLL_FIELDS = ["last_seen", "consecutive_failures", "active_adapter_id", "last_duration_ms", "next_poll_at",
               "pending_slot", "permanent_error", "collector", "config_fingerprint", "state", "last_error",
               "last_error_at", "poll_interval_s", "flagged_values", "last_flag", "system", "updated_at"]


def effective_state(status: DeviceStatus | None, now: datetime) -> str:
    """The state to show now, aged from ``last_seen`` (a stopped poller cannot leave 'online')."""
    if status is None or (status.last_seen is None and status.consecutive_failures == 0):
        return DeviceState.UNKNOWN
    if (status.permanent_error or status.consecutive_failures >= OFFLINE_AFTER_FAILURES
            or status.last_seen is None):
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
    return min(interval_s * 2 ** min(failures - 1, 30), max(MAX_BACKOFF_S, interval_s))


def retries_stopped(status: DeviceStatus, fingerprint: str) -> bool:
    """Whether a permanent error stops polling this device as it is configured now."""
    return status.permanent_error and status.config_fingerprint == fingerprint


def record_success(status: DeviceStatus, now: datetime, slot: datetime, adapter_id: str,
                   duration_ms: int, collector: str = "", fingerprint: str = "",
                   flags: Sequence[str] = ()) -> None:
    """A good reading arrived; ``flags`` are the values in it that were left unknown."""
    status.flagged_values += len(flags)
    if flags:
        status.last_flag = flags[-1][:2000]
    status.last_seen = now
    status.consecutive_failures = 0
    status.active_adapter_id = adapter_id or ""
    status.last_duration_ms = duration_ms
    status.next_poll_at = slot + timedelta(seconds=status.poll_interval_s)
    status.pending_slot = None
    status.permanent_error = False
    status.collector, status.config_fingerprint = collector, fingerprint
    status.state = effective_state(status, now)
    status.save(update_fields=POLL_FIELDS)


# The columns a good poll writes, in the order of its UPDATE's parameters (the row's other
# columns keep what they hold). The system is matched, not set: setting an indexed column
# rewrites its index entry at every poll (SQLite), and a device moves to another system a few
# times in its life (the dispatcher, or the slower path of a poll, moves its status row).
_SUCCESS_COLUMNS = ("last_seen", "consecutive_failures", "active_adapter_id", "last_duration_ms",
                    "next_poll_at", "pending_slot", "permanent_error", "collector", "config_fingerprint",
                    "state", "poll_interval_s", "updated_at")
_SUCCESS_SQL: list[str] = []


# The advisory locks' class (the first of their two keys) for a system's status updates; the
# second key is the system's (``_system_key``). The one-key form (beat's lock) is a space of its own.
STATUS_LOCK_CLASS = 0x534D5354


@lru_cache(maxsize=4096)
def _system_key(system_id: str) -> int:
    """A system's advisory lock key: 32 bits of a hash of its id (a shared key only makes two
    systems' status updates take turns)."""
    return int.from_bytes(hashlib.blake2b(system_id.encode(), digest_size=4).digest(), "big", signed=True)


def _success_sql() -> str:
    """The good poll's status UPDATE, which also says whether another device of the system still
    has the slot pending.

    On PostgreSQL it runs after ``pg_advisory_xact_lock`` on the system, in one round trip (two
    statements of one implicit transaction, the lock held until its commit): the status updates
    of one system take turns, and each UPDATE's snapshot, taken once the lock is held, sees every
    update of the system committed before. So of the last two polls of a slot, finishing
    together, the later one sees the other's row cleared and its answer is final, as on SQLite
    (whose writes take turns anyway); no second question after the commit. Inside an outer
    transaction the lock is held until that ends; the poll path runs in autocommit.
    """
    if not _SUCCESS_SQL:
        quote = connection.ops.quote_name
        sets = ", ".join(f"{quote(column)} = %s" for column in _SUCCESS_COLUMNS)
        flagged, last_flag = quote("flagged_values"), quote("last_flag")
        table, kind, device, system = (quote(name) for name in (
            DeviceStatus._meta.db_table, "device_type", "device_id", "system_id"))
        _SUCCESS_SQL.append(
            f"UPDATE {table} SET {sets}, {flagged} = {flagged} + %s, "
            f"{last_flag} = CASE WHEN %s THEN %s ELSE {last_flag} END "
            f"WHERE {kind} = %s AND {device} = %s AND {system} = %s "
            f"RETURNING (SELECT 1 FROM {table} other WHERE other.{system} = %s "
            f"AND other.{quote('pending_slot')} = %s AND NOT (other.{kind} = %s AND other.{device} = %s) "
            "LIMIT 1)")
        if connection.vendor == "postgresql":
            _SUCCESS_SQL[0] = "SELECT pg_advisory_xact_lock(%s, %s); " + _SUCCESS_SQL[0]
    return _SUCCESS_SQL[0]


_UPDATE_FIELDS = frozenset(POLL_FIELDS)


def record_poll_success(device_type: str, device_id: str, system_id: str, interval_s: float, now: datetime,
                        slot: datetime, adapter_id: str, duration_ms: int, collector: str = "",
                        fingerprint: str = "", flags: Sequence[str] = ()) -> bool | None:
    """:func:`record_success` in one UPDATE, without reading the row first (a good poll's state
    depends on nothing stored: it is online, see :func:`effective_state`); None when the device
    has no status row yet, or its row is still in another system (:func:`record_success` then).

    Otherwise it returns whether another device of the system still had ``slot`` pending (its
    poll queued or running) as the UPDATE saw the table: the question ``poll_bus`` asks before
    it derives the slot's totals, answered by the same statement (see ``telemetry.tasks``).

    Sends ``post_save`` as ``save()`` would, for its listeners (MQTT), with the row as written
    (:func:`_as_written`).
    """
    db = connections[DEFAULT_DB_ALIAS]
    adapt = db.ops.adapt_datetimefield_value
    next_at = slot + timedelta(seconds=interval_s)
    at = adapt(now)
    adapter_id = adapter_id or ""
    turns = [STATUS_LOCK_CLASS, _system_key(system_id)] if db.vendor == "postgresql" else []
    with db.cursor() as cursor:
        execute(cursor, _success_sql(), [
            *turns, at, 0, adapter_id, duration_ms, adapt(next_at), None, False, collector, fingerprint,
            DeviceState.ONLINE, interval_s, at, len(flags), bool(flags), flags[-1][:2000] if flags else "",
            device_type, device_id, system_id, system_id, adapt(slot), device_type, device_id])
        if turns:
            cursor.nextset()  # past the lock's result, to the UPDATE's
        written = cursor.fetchone()
    if written is None:
        return None
    post_save.send(sender=DeviceStatus, instance=_as_written(db.alias, {
        "device_type": device_type, "device_id": device_id, "system_id": system_id, "last_seen": now,
        "consecutive_failures": 0, "active_adapter_id": adapter_id, "last_duration_ms": duration_ms,
        "next_poll_at": next_at, "pending_slot": None, "permanent_error": False, "collector": collector,
        "config_fingerprint": fingerprint, "state": DeviceState.ONLINE, "poll_interval_s": interval_s,
        "updated_at": now}), created=False, update_fields=_UPDATE_FIELDS, raw=False, using=db.alias)
    return written[0] is not None


def _as_written(alias: str, values: dict[str, Any]) -> DeviceStatus:
    """The status row as the UPDATE left it, for ``post_save``: the columns it set, the others
    deferred (read on access, as after ``.only()``). Built as ``Model.from_db`` would, without
    running ``__init__`` over every field and its init signals: this is once per poll."""
    status = DeviceStatus.__new__(DeviceStatus)
    status.__dict__.update(values)
    status._state = ModelState()
    status._state.adding, status._state.db = False, alias
    return status


def record_failure(status: DeviceStatus, now: datetime, error: str, duration_ms: int,
                   active_adapter_id: str = "", *, permanent: bool = False, collector: str = "",
                   fingerprint: str = "") -> None:
    status.consecutive_failures += 1
    status.permanent_error = permanent
    status.last_error = (error + (PERMANENT_NOTE if permanent else ""))[:2000]
    status.last_error_at = now
    status.last_duration_ms = duration_ms
    if active_adapter_id:
        status.active_adapter_id = active_adapter_id
    status.next_poll_at = now + timedelta(seconds=backoff_s(status.poll_interval_s,
                                                            status.consecutive_failures))
    status.pending_slot = None
    status.collector, status.config_fingerprint = collector or status.collector, fingerprint
    status.state = effective_state(status, now)
    status.save(update_fields=POLL_FIELDS)


def count_missed(statuses: Iterable[DeviceStatus], now: datetime, reason: str, count: int = 1, *,
                 warn: bool = True, only_pending: datetime | None = None, **also: Any) -> int:
    """Count ``count`` missed polls of each of ``statuses`` in one UPDATE; returns rows counted.

    ``also`` sets further columns alike. With ``only_pending`` a row counts only while its
    ``pending_slot`` is still that slot (a poll that reported since is not missed).
    """
    rows = list(statuses)
    if not rows or count <= 0:
        return 0
    query = DeviceStatus.objects.filter(pk__in=[s.pk for s in rows])
    if only_pending is not None:
        query = query.filter(pending_slot=only_pending)
    counted = query.update(missed_polls=F("missed_polls") + count, last_missed_at=now,
                           last_missed_reason=reason[:200], **also)
    if warn and counted:
        names = ", ".join(f"{s.device_type} {s.device_id}" for s in rows[:5])
        names += " …" if len(rows) > 5 else ""
        log.warning("%s: %d poll%s missed: %s", names, count, "" if count == 1 else "s", reason)
    return counted


def record_missed(status: DeviceStatus, now: datetime, reason: str, collector: str = "") -> None:
    """A poll this worker could not make (its bus stayed busy): tried again at the next slot."""
    count_missed([status], now, reason, pending_slot=None, collector=collector or status.collector,
                 next_poll_at=now + timedelta(seconds=status.poll_interval_s))


def record_unreachable(statuses: list[DeviceStatus], now: datetime, reason: str) -> None:
    """Nobody can poll these devices now (their collector is down, or they have none).

    A missed poll that also counts as a failure, so the devices turn offline; no backoff,
    so each is polled at its next slot once its collector is back. Warned once when it
    starts, not at every slot while a collector stays down.
    """
    if not statuses:
        return
    interval = min(s.poll_interval_s for s in statuses)
    fresh = [s for s in statuses if s.last_error != reason[:2000]]
    # A poll queued for a collector that went down never reports: forget it, so the device is
    # polled at once when its collector is back.
    count_missed(statuses, now, reason, warn=False, consecutive_failures=F("consecutive_failures") + 1,
                 last_error=reason[:2000], last_error_at=now, pending_slot=None,
                 next_poll_at=now + timedelta(seconds=interval))
    if fresh:
        log.warning("not polled: %s: %s", ", ".join(f"{s.device_type} {s.device_id}" for s in fresh), reason)


def release_pending(collector: str) -> int:
    """A collector's worker (re)started: polls it had queued or running before will not report."""
    return DeviceStatus.objects.filter(collector=collector, pending_slot__isnull=False).update(
        pending_slot=None)


def count_expired(device_keys: Iterable[str], slot: datetime, now: datetime) -> int:
    """Polls of ``device_keys`` at ``slot`` that expired in the queue before a worker took them."""
    match = Q(pk__in=[])
    for key in device_keys:
        kind, _, device_id = key.partition(":")
        match |= Q(device_type=kind, device_id=device_id)
    statuses = list(DeviceStatus.objects.filter(match))
    return count_missed(statuses, now, f"the poll for {slot:%H:%M:%S} expired in the queue before a "
                        "worker took it (workers busy or stopped)", only_pending=slot, pending_slot=None)
