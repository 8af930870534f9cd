"""The dispatcher: which devices are due, which collector polls them, and what was missed.

``dispatch_due`` runs from beat every few seconds (``telemetry.tasks.dispatch_polls``), in
one worker at a time. For each enabled device it decides, in isolation (one device's error
never stops the others):

- not due yet (or backing off, or stopped by a permanent error): nothing;
- nobody can poll it (no owner, or its collector is down): a missed poll and a failure, so
  it turns offline; no other collector takes over its serial port;
- its previous poll is still queued or running: once it is due, a missed poll, nothing queued
  on top of it (a slow bus never piles up tasks that wait on its lock); while it is only due
  later within the lookahead, nothing yet; a previous poll that never reported within
  ``lost_after_s`` counts as missed and is replaced;
- slots that passed while no dispatch ran (database or broker stalled) count as missed;
- otherwise it is due: devices of one owner that share a bus and a slot are queued as one
  ``poll_bus`` task on the owner's queue, expiring before the next slot.

A device's slots are its system's (``telemetry.polling.slot_for``): the interval's multiples
shifted by the system's own phase, so that many systems' devices fall due a few at a time.

With a ``lookahead_s`` (beat's dispatch period, from ``dispatch_polls``), devices that fall due
before the next dispatch are queued now for their own slot, which the task waits for (a Celery
ETA): a poll then starts at its due time, not up to a dispatch period after it.

Claims (``next_poll_at``, ``pending_slot``) are committed before the tasks are sent, so a
task never runs for a device the database does not know is pending.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.collectors import Owners
from telemetry.models import DeviceStatus
from telemetry.polling import DeviceRef, slot_for
from telemetry.snapshot import PollCatalog, poll_catalog
from telemetry.status import count_missed, record_unreachable, retries_stopped

log = logging.getLogger(__name__)

POLL_TIME_LIMIT_S = 120
EXPIRES_SHARE = 0.9  # a queued poll expires before its next slot: a stalled worker never piles up polls
LOST_AFTER_S = POLL_TIME_LIMIT_S + 10  # a poll that has not reported by then died with its worker
_STARTED = timezone.now()  # slots before this process started are downtime, not missed polls

Send = Callable[[str, list[str], datetime, float], None]  # (owner, device keys, slot, expires_s)


def expires_s(interval_s: float) -> float:
    return max(interval_s * EXPIRES_SHARE, 1.0)


def lost_after_s(status: DeviceStatus) -> float:
    """How long a queued or running poll may go without reporting before it counts as lost.

    A poll reports within its queue expiry plus the time a read takes. One that does not has
    died with its worker, or could not record its outcome (a full disk): waiting for the task
    time limit would keep the device unpolled for two minutes after the disk has room again.
    """
    took_s = (status.last_duration_ms or 0) / 1000
    return min(LOST_AFTER_S, expires_s(status.poll_interval_s) + 3 * took_s + 15)


def group_by_bus(refs: list[DeviceRef]) -> list[list[DeviceRef]]:
    """Devices that share any bus land in the same group (union of overlapping buses), each group
    in the order of ``refs`` (a union-find over bus names: linear in the number of devices)."""
    parent = list(range(len(refs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_on: dict[str, int] = {}
    for i, ref in enumerate(refs):
        for bus in ref.buses:
            j = first_on.setdefault(bus, i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[DeviceRef]] = {}
    for i, ref in enumerate(refs):
        groups.setdefault(root(i), []).append(ref)
    return list(groups.values())


@dataclass
class _Round:
    """What one dispatch decided, written in a few UPDATEs at the end."""

    now: datetime
    lookahead_s: float = 0.0
    due: list[DeviceRef] = field(default_factory=list)
    unreachable: dict[tuple[str, float], list[DeviceStatus]] = field(default_factory=dict)
    busy: dict[float, list[DeviceStatus]] = field(default_factory=dict)  # by interval
    stalled: dict[int, list[DeviceStatus]] = field(default_factory=dict)  # by slots skipped


def dispatch_due(now: datetime, send: Send, lookahead_s: float = 0.0) -> int:
    """Queue a poll for every device due at ``now`` (or within ``lookahead_s`` after it, for its
    own slot); returns how many devices were queued."""
    owners = Owners.load(now)
    catalog = poll_catalog(owners)
    refs = list(catalog.refs.values())
    statuses = _due_statuses(catalog, refs, now + timedelta(seconds=lookahead_s))
    round_ = _Round(now, lookahead_s)
    for ref in refs:
        status = statuses.get(ref.key)
        if status is None:
            continue  # not due before the next dispatch
        try:
            _triage(round_, ref, status, owners)
        except Exception:  # one device's bad data must not stop the dispatch of the others
            log.exception("dispatch of %s %s failed", ref.kind, ref.device_id)
    _write_unreachable(round_)
    for skipped, statuses_ in round_.stalled.items():  # one UPDATE per distinct count, not per device
        count_missed(statuses_, now, "no dispatch ran while it was due (beat, broker or database stalled)",
                     skipped)
    for interval_s, statuses_ in round_.busy.items():
        count_missed(statuses_, now, "the previous poll is still queued or running",
                     next_poll_at=now + timedelta(seconds=interval_s))
    sends: list[tuple[str, list[DeviceRef], datetime, float]] = []
    claims: list[tuple[datetime, datetime, int]] = []  # (next poll, pending slot, status row)
    for owner, group, slot in _tasks(round_.due, statuses, now):
        claims.extend((slot + timedelta(seconds=ref.interval_s), slot, statuses[ref.key].pk) for ref in group)
        sends.append((owner, group, slot, expires_s(min(r.interval_s for r in group))))
    _claim(claims)  # before any send
    queued = 0
    for owner, group, slot, expires in sends:
        try:
            send(owner, [r.key for r in group], slot, expires)
        except Exception:  # the broker is away: the pending slots are counted as lost later
            log.exception("could not queue the poll of %s on collector %s", [r.key for r in group], owner)
            continue
        queued += len(group)
    return queued


def _claim(claims: list[tuple[datetime, datetime, int]]) -> None:
    """Mark the devices' polls pending and their next ones due, in one statement (each system's
    slot is its own, so a statement per distinct claim would grow with the number of systems)."""
    if not claims:
        return
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:  # one commit
        cursor.executemany(_CLAIM_SQL, [(adapt(next_at), adapt(slot), pk) for next_at, slot, pk in claims])


_CLAIM_SQL = (f"UPDATE {DeviceStatus._meta.db_table} SET next_poll_at = %s, pending_slot = %s "
              f"WHERE {DeviceStatus._meta.pk.column} = %s")
_SYNCED: list[tuple[Any, ...]] = []  # (catalog, status rows) the status rows were last synced for


def _due_statuses(catalog: PollCatalog, refs: list[DeviceRef], until: datetime) -> dict[str, DeviceStatus]:
    """The status rows of the devices due by ``until``, by device key (the others are not read).

    Missing rows are created, and intervals and systems brought in line with the catalog,
    whenever the catalog or the number of status rows has changed since the last dispatch.
    """
    seen = (catalog.mark, catalog.owners, DeviceStatus.objects.count())
    if _SYNCED != [seen]:
        _sync_statuses(refs)
        _SYNCED[:] = [(catalog.mark, catalog.owners, DeviceStatus.objects.count())]
    due = DeviceStatus.objects.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=until))
    return {f"{s.device_type}:{s.device_id}": s for s in due}


def _sync_statuses(refs: list[DeviceRef]) -> None:
    """Each device's status row, creating the missing ones in one statement."""
    found = {f"{s.device_type}:{s.device_id}": s for s in DeviceStatus.objects.all()}
    missing = [DeviceStatus(device_type=r.kind, device_id=r.device_id, system_id=r.system_id,
                            poll_interval_s=r.interval_s) for r in refs if r.key not in found]
    if missing:
        DeviceStatus.objects.bulk_create(missing, ignore_conflicts=True)
        found = {f"{s.device_type}:{s.device_id}": s for s in DeviceStatus.objects.all()}
    for ref in refs:
        status = found[ref.key]
        if status.poll_interval_s != ref.interval_s or status.system_id != ref.system_id:
            DeviceStatus.objects.filter(pk=status.pk).update(poll_interval_s=ref.interval_s,
                                                             system_id=ref.system_id)


def _triage(round_: _Round, ref: DeviceRef, status: DeviceStatus, owners: Owners) -> None:
    now = round_.now
    if status.next_poll_at is not None and status.next_poll_at > now + timedelta(seconds=round_.lookahead_s):
        return
    if retries_stopped(status, ref.fingerprint()):
        return
    if ref.owner is None:
        round_.unreachable.setdefault((owners.unowned_reason(), ref.interval_s), []).append(status)
        return
    if not owners.is_up(ref.owner):
        reason = f"collector {ref.owner} is down: its devices are not polled until it is back"
        round_.unreachable.setdefault((reason, ref.interval_s), []).append(status)
        return
    if status.pending_slot is not None:
        if (now - status.pending_slot).total_seconds() < lost_after_s(status):
            if status.next_poll_at is None or status.next_poll_at <= now:
                round_.busy.setdefault(ref.interval_s, []).append(status)
            # else: due later within the lookahead; its previous poll may report before then
            return
        count_missed([status], now, f"the poll for {status.pending_slot:%H:%M:%S} never reported "
                     "(its worker stopped?)", only_pending=status.pending_slot, pending_slot=None)
    _count_stalled_slots(round_, status, ref)
    round_.due.append(ref)


def _count_stalled_slots(round_: _Round, status: DeviceStatus, ref: DeviceRef) -> None:
    """Whole intervals that passed after the device was due without any dispatch."""
    if status.next_poll_at is None:
        return
    since = max(status.next_poll_at, _STARTED)
    skipped = math.floor((round_.now - since).total_seconds() / ref.interval_s)
    if skipped >= 1:
        round_.stalled.setdefault(skipped, []).append(status)


def _write_unreachable(round_: _Round) -> None:
    for (reason, _), statuses in round_.unreachable.items():
        record_unreachable(statuses, round_.now, reason)


def _groups(due: list[DeviceRef]) -> list[tuple[str, list[DeviceRef]]]:
    """One group per owner and bus: a gateway two collectors share gets a task on each queue
    (the bus lock keeps them apart)."""
    by_owner: dict[str, list[DeviceRef]] = {}
    for ref in due:
        assert ref.owner is not None  # unowned devices were set aside
        by_owner.setdefault(ref.owner, []).append(ref)
    return [(owner, group) for owner, refs in sorted(by_owner.items()) for group in group_by_bus(refs)]


def _tasks(due: list[DeviceRef], statuses: dict[str, DeviceStatus],
           now: datetime) -> list[tuple[str, list[DeviceRef], datetime]]:
    """One task per owner, bus and slot: (owner, devices, slot).

    A device's slot is its system's (``slot_for``) at its due time, or now when that has passed:
    a device due later within the lookahead is polled at its own time, not before. Devices of a
    bus whose slots differ (other systems, so other phases, or another due time) get a task
    each, at its own time; the bus lock keeps them apart.
    """
    tasks: list[tuple[str, list[DeviceRef], datetime]] = []
    for owner, group in _groups(due):
        by_slot: dict[datetime, list[DeviceRef]] = {}
        for ref in group:
            start = max(now, statuses[ref.key].next_poll_at or now)
            by_slot.setdefault(slot_for(start, ref.interval_s, ref.system_id), []).append(ref)
        tasks.extend((owner, refs, slot) for slot, refs in sorted(by_slot.items()))
    return tasks


@contextlib.contextmanager
def short_lock_waits(seconds: float) -> Iterator[None]:
    """Make this connection give up on a locked database after ``seconds`` (SQLite's busy
    timeout, PostgreSQL's lock_timeout) instead of holding a worker thread for 30 s."""
    millis = max(int(seconds * 1000), 1)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA busy_timeout")
            previous = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA busy_timeout = {millis}")
        elif connection.vendor == "postgresql":
            cursor.execute("SET lock_timeout = %s", [f"{millis}ms"])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")
            elif connection.vendor == "postgresql":
                cursor.execute("RESET lock_timeout")
