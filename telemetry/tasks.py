"""Celery tasks for polling. Thin: they take ids and call the services.

``dispatch_polls`` runs every few seconds from beat, in one worker at a time (another
dispatch still running means this one returns at once, so worker threads never queue up
behind a lock), and never waits long for a locked database. ``telemetry.dispatch`` decides
what is due and queues one ``poll_bus`` task per bus on the queue of the collector that owns
it. A ``poll_bus`` that expires in the queue is counted as a missed poll of its devices.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_revoked
from django.conf import settings
from django.db import OperationalError, connection
from django.utils import timezone

from catalog.models import System
from catalog.selectors import SystemTree
from solarmon.schedule import dispatch_lookahead_s
from telemetry.buses import run_alone
from telemetry.derive import derive_missed, derive_samples
from telemetry.diskfull import is_disk_full
from telemetry.dispatch import POLL_TIME_LIMIT_S, dispatch_due, short_lock_waits
from telemetry.models import DeviceStatus
from telemetry.polling import DeviceRef, PollOutcome, poll_device
from telemetry.queues import collector_queue
from telemetry.snapshot import poll_catalog
from telemetry.statements import execute
from telemetry.status import count_expired, record_failure, record_missed

log = logging.getLogger(__name__)

DISPATCH_LOCK_WAIT_S = 2.0
CATCH_UP_WINDOW_S = 900  # derivations missed within the last quarter hour are made up
CATCH_UP_DELAY_S = 30  # ... once the slot's own polls have surely finished


def _send_poll(owner: str, device_keys: list[str], slot: datetime, expires_s: float) -> None:
    """Queue one bus's poll; one due later than now (the dispatch's lookahead) waits for its slot."""
    ahead_s = max((slot - timezone.now()).total_seconds(), 0.0)
    if ahead_s:
        poll_bus.apply_async(args=(device_keys, slot.isoformat()), queue=collector_queue(owner),
                             expires=expires_s + ahead_s, countdown=ahead_s)
    else:
        poll_bus.apply_async(args=(device_keys, slot.isoformat()), queue=collector_queue(owner),
                             expires=expires_s)


@shared_task(ignore_result=True)
def dispatch_polls() -> int:
    """Queue a ``poll_bus`` task for every bus with a device due now. Returns devices queued."""
    with run_alone("dispatch") as mine:
        if not mine:
            log.info("dispatch skipped: the previous one is still running")
            return 0
        try:
            with short_lock_waits(DISPATCH_LOCK_WAIT_S):
                return dispatch_due(timezone.now(), _send_poll, dispatch_lookahead_s())
        except OperationalError as exc:
            log.warning("dispatch skipped: the database stayed locked for %.0f s (%s); the devices "
                        "stay due", DISPATCH_LOCK_WAIT_S, exc)
            return 0


@shared_task(ignore_result=True, soft_time_limit=POLL_TIME_LIMIT_S - 10, time_limit=POLL_TIME_LIMIT_S)
def poll_bus(device_keys: list[str], slot_iso: str) -> None:
    """Poll the given devices in turn at one slot, then derive their systems' totals if no other
    bus of theirs still has this slot to poll."""
    slot = datetime.fromisoformat(slot_iso)
    catalog = poll_catalog()
    others_pending: dict[str, bool | None] = {}  # per system polled well: what its last status UPDATE saw
    for key in device_keys:
        ref = catalog.refs.get(key)
        if ref is None:
            continue  # removed or disabled since it was queued
        outcome = _poll_one(ref, slot, catalog.tree(ref.system_id))
        if outcome is not None and outcome.ok:
            others_pending[ref.system_id] = outcome.others_pending
        elif ref.system_id in others_pending:
            others_pending[ref.system_id] = None  # its status was written since: ask the table
    for system_id in sorted(others_pending):
        if slot_still_pending(system_id, slot, others_pending[system_id]):
            continue  # another bus's poll of this slot is still to report: the last one derives
        try:
            derive_samples(system_id, slot, catalog.tree(system_id))
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            log.exception("deriving %s at %s failed; the catch-up derives it later", system_id, slot_iso)


def slot_still_pending(system_id: str, slot: datetime, seen: bool | None = None) -> bool:
    """Whether a device of the system still has a poll of ``slot`` queued or running.

    A system's totals are derived once per slot, by the ``poll_bus`` that finishes it, after
    all its devices have reported or failed (each clears its pending slot). A poll that never
    reports (expired, its worker died) leaves the slot to ``derive_catch_up``.

    ``seen`` is the answer of the task's last status UPDATE of the system, which asks in the same
    statement (``record_poll_success``); None asks the table now. The answer is final on either
    database: the status updates of one system take turns (SQLite's writes do; on PostgreSQL
    each takes the system's advisory lock first, see ``telemetry.status._success_sql``), so the
    later of two polls finishing together sees the other's row cleared.
    """
    if seen is not None:
        return seen
    with connection.cursor() as cursor:  # plain SQL: once per task, and the ORM's query costs more
        execute(cursor, _PENDING_SQL, [system_id, connection.ops.adapt_datetimefield_value(slot)])
        return cursor.fetchone() is not None


_PENDING_SQL = (f"SELECT 1 FROM {DeviceStatus._meta.db_table} WHERE system_id = %s AND pending_slot = %s "
                "LIMIT 1")


def _poll_one(ref: DeviceRef, slot: datetime, tree: SystemTree | None = None,
              status: DeviceStatus | None = None) -> PollOutcome | None:
    """Poll one device, whatever goes wrong with it; None when it was not polled here or crashed."""
    me = settings.SOLARMON_COLLECTOR
    try:
        if ref.owner != me:  # reassigned while the task waited: its serial port is not here
            status = DeviceStatus.objects.get(device_type=ref.kind, device_id=ref.device_id)
            record_missed(status, timezone.now(), f"assigned to collector {ref.owner} before the poll ran",
                          me)
            return None
        return poll_device(ref, slot, tree=tree, status=status)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # a bug or a database error must not stop the bus's other devices
        if is_disk_full(exc):
            raise  # the task base class reports a full disk once per episode (solarmon/celery.py)
        log.exception("poll of %s %s crashed", ref.kind, ref.device_id)
        try:
            status = DeviceStatus.objects.get(device_type=ref.kind, device_id=ref.device_id)
            record_failure(status, timezone.now(), f"{type(exc).__name__}: {exc}", 0, collector=me)
        except Exception:
            log.exception("could not record the failure of %s %s", ref.kind, ref.device_id)
        return None


@shared_task(ignore_result=True)
def count_expired_polls(device_keys: list[str], slot_iso: str) -> None:
    """Count a ``poll_bus`` that expired in the queue as a missed poll of each of its devices."""
    count_expired(device_keys, datetime.fromisoformat(slot_iso), timezone.now())


@task_revoked.connect
def _poll_expired(sender: Any = None, request: Any = None, expired: bool = False, **kwargs: Any) -> None:
    """Runs in the worker's consumer: hand the counting to a task rather than wait on the database."""
    if not expired or getattr(sender, "name", None) != poll_bus.name or request is None:
        return
    device_keys, slot_iso = request.args
    log.warning("poll of %s for %s expired in the queue before a worker took it", ", ".join(device_keys),
                slot_iso)
    count_expired_polls.apply_async(args=(device_keys, slot_iso),
                                    queue=collector_queue(settings.SOLARMON_COLLECTOR))


@shared_task(ignore_result=True)
def derive_catch_up() -> int:
    """Derive the array and system totals of recent slots whose derivation never ran."""
    now = timezone.now()
    since, until = now - timedelta(seconds=CATCH_UP_WINDOW_S), now - timedelta(seconds=CATCH_UP_DELAY_S)
    made = 0
    for system_id in System.objects.values_list("pk", flat=True):
        try:
            made += derive_missed(system_id, since, until)
        except Exception:
            log.exception("catching up the totals of %s failed", system_id)
    if made:
        log.warning("derived %d slot%s whose totals were missing", made, "" if made == 1 else "s")
    return made
