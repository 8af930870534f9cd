"""The dispatcher: each bus to its owner's queue, nothing piled up, nothing missed silently."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from catalog import models as m
from telemetry.buses import bus_locks, run_alone
from telemetry.choices import DeviceState
from telemetry.dispatch import LOST_AFTER_S, dispatch_due
from telemetry.models import DeviceStatus
from telemetry.polling import device_refs, poll_device
from telemetry.status import OFFLINE_AFTER_FAILURES, count_expired, effective_state
from telemetry.tasks import dispatch_polls, poll_bus
from tests import factories as f

pytestmark = pytest.mark.django_db


class Queues:
    """Stands in for the broker: what the dispatcher sent, by queue."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str], datetime, float]] = []

    def __call__(self, owner: str, keys: list[str], slot: datetime, expires_s: float) -> None:
        self.sent.append((owner, sorted(keys), slot, expires_s))

    def by_owner(self) -> dict[str, list[list[str]]]:
        found: dict[str, list[list[str]]] = {}
        for owner, keys, _, _ in self.sent:
            found.setdefault(owner, []).append(keys)
        return {owner: sorted(groups) for owner, groups in found.items()}


@pytest.fixture
def array() -> m.InverterArray:
    return f.array("array1", f.system("system"))


def _up(*names: str, at: datetime | None = None) -> None:
    for name in names:
        m.Collector.objects.update_or_create(name=name, defaults={"last_heartbeat": at or timezone.now()})


def _inverter(array: m.InverterArray, name: str, config: dict[str, Any], **adapter: Any) -> None:
    adapter.setdefault("poll_interval_s", 5)
    f.inverter(name, array, adapter=f.adapter(f"{name}_adapter", "powdrive", {"timeout": 0.3, **config},
                                              **adapter))


def _tcp(host: str, port: int = 502) -> dict[str, Any]:
    return {"transport": "rtu_over_tcp", "host": host, "port": port}


def _status(device_id: str) -> DeviceStatus:
    return DeviceStatus.objects.get(device_id=device_id)


def test_each_bus_goes_to_its_owners_queue_and_a_shared_gateway_to_both(array: m.InverterArray) -> None:
    _up("house", "garage")
    _inverter(array, "roof", {"transport": "rtu", "serial_port": "/dev/ttyUSB0"}, collector_id="house")
    _inverter(array, "roof2", {"transport": "rtu", "serial_port": "/dev/ttyUSB0"}, collector_id="house")
    _inverter(array, "shed", {"transport": "rtu", "serial_port": "/dev/ttyUSB0"}, collector_id="garage")
    _inverter(array, "gw_house", _tcp("192.0.2.50"), collector_id="house")
    _inverter(array, "gw_garage", _tcp("192.0.2.50"), collector_id="garage")
    queues = Queues()
    assert dispatch_due(timezone.now(), queues) == 5
    # One task per bus and owner: two devices on the house's ttyUSB0 share a task; the garage's
    # ttyUSB0 is another port on another host.
    assert queues.by_owner() == {"house": [["inverter:gw_house"], ["inverter:roof", "inverter:roof2"]],
                                 "garage": [["inverter:gw_garage"], ["inverter:shed"]]}
    assert all(expires < 5 for _, _, _, expires in queues.sent)


def test_a_collector_that_stopped_heartbeating_gets_no_polls_and_its_devices_go_offline(
        array: m.InverterArray, settings: Any) -> None:
    settings.SOLARMON_COLLECTOR_DOWN_AFTER_S = 30
    start = timezone.now()
    _up("house")
    _up("garage", at=start - timedelta(seconds=31))
    _inverter(array, "roof", _tcp("192.0.2.1"), collector_id="house")
    _inverter(array, "shed", _tcp("192.0.2.2"), collector_id="garage")
    DeviceStatus.objects.create(device_type="inverter", device_id="shed", system_id="system",
                                poll_interval_s=5, last_seen=start - timedelta(seconds=1))
    for tick in range(OFFLINE_AFTER_FAILURES):
        if tick == OFFLINE_AFTER_FAILURES - 1:  # one failure short: old values, not yet offline
            assert effective_state(_status("shed"), start + timedelta(seconds=5 * tick)) == DeviceState.STALE
        now = start + timedelta(seconds=5 * tick)
        _up("house", at=now)
        queues = Queues()
        dispatch_due(now, queues)
        assert queues.by_owner() == {"house": [["inverter:roof"]]}, f"tick {tick}"
        DeviceStatus.objects.filter(device_id="roof").update(pending_slot=None)  # as if it was polled
    shed = _status("shed")
    assert "collector garage is down" in shed.last_error
    assert shed.missed_polls == OFFLINE_AFTER_FAILURES
    assert effective_state(shed, start + timedelta(seconds=25)) == DeviceState.OFFLINE


def test_with_two_collectors_running_an_unassigned_network_adapter_is_reported_not_guessed(
        array: m.InverterArray) -> None:
    _up("house", "garage")
    _inverter(array, "mystery", _tcp("192.0.2.9"))
    queues = Queues()
    assert dispatch_due(timezone.now(), queues) == 0
    assert "set its collector" in _status("mystery").last_error


def test_a_poll_still_queued_or_running_is_not_queued_again_but_counted_missed(
        array: m.InverterArray, caplog: pytest.LogCaptureFixture) -> None:
    _up("house")
    _inverter(array, "slow", _tcp("192.0.2.1"))
    start = timezone.now()
    first = Queues()
    dispatch_due(start, first)
    assert len(first.sent) == 1
    later = Queues()
    dispatch_due(start + timedelta(seconds=6), later)
    assert later.sent == []
    status = _status("slow")
    assert status.missed_polls == 1 and "still queued or running" in status.last_missed_reason
    # A poll that never reported (its worker died) is counted and replaced.
    _up("house", at=start + timedelta(seconds=LOST_AFTER_S + 1))
    last = Queues()
    with caplog.at_level(logging.WARNING):
        dispatch_due(start + timedelta(seconds=LOST_AFTER_S + 1), last)
    assert len(last.sent) == 1
    assert "never reported (its worker stopped?)" in caplog.text


def test_slots_that_passed_while_no_dispatch_ran_are_counted_missed(
        array: m.InverterArray, caplog: pytest.LogCaptureFixture) -> None:
    _up("house")
    _inverter(array, "roof", _tcp("192.0.2.1"))
    now = timezone.now()
    dispatch_due(now, Queues())
    # The poll reported; then the database stayed locked for 30 s and no dispatch ran.
    DeviceStatus.objects.filter(device_id="roof").update(pending_slot=None)
    due_at = _status("roof").next_poll_at
    assert due_at is not None
    late = due_at + timedelta(seconds=30)
    _up("house", at=late)
    with caplog.at_level(logging.WARNING):
        assert dispatch_due(late, Queues()) == 1
    assert _status("roof").missed_polls == 6
    assert "6 polls missed: no dispatch ran" in caplog.text


def test_an_expired_poll_counts_as_missed_for_the_devices_still_waiting_for_it(
        array: m.InverterArray) -> None:
    _up("house")
    _inverter(array, "a", _tcp("192.0.2.1"))
    _inverter(array, "b", _tcp("192.0.2.2"))
    now = timezone.now()
    queues = Queues()
    dispatch_due(now, queues)
    slot = queues.sent[0][2]
    DeviceStatus.objects.filter(device_id="b").update(pending_slot=None)  # b was polled meanwhile
    assert count_expired(["inverter:a", "inverter:b"], slot, now) == 1
    assert (_status("a").missed_polls, _status("b").missed_polls) == (1, 0)
    assert _status("a").pending_slot is None


def test_an_interval_stored_before_the_bounds_does_not_stop_the_other_devices(array: m.InverterArray) -> None:
    _up("house")
    _inverter(array, "huge", _tcp("192.0.2.1"))
    _inverter(array, "normal", _tcp("192.0.2.2"))
    m.Adapter.objects.filter(pk="huge_adapter").update(poll_interval_s=1e308)  # as the API once accepted
    queues = Queues()
    assert dispatch_due(timezone.now(), queues) == 2


def test_a_dispatch_while_another_runs_returns_at_once() -> None:
    with run_alone("dispatch") as mine:
        assert mine
        assert dispatch_polls() == 0


def test_a_poll_for_a_device_assigned_elsewhere_is_not_made_here(array: m.InverterArray) -> None:
    _inverter(array, "shed", {"transport": "rtu", "serial_port": "/dev/ttyUSB0"}, collector_id="garage")
    DeviceStatus.objects.create(device_type="inverter", device_id="shed", system_id="system",
                                poll_interval_s=5)
    poll_bus(["inverter:shed"], timezone.now().isoformat())
    status = _status("shed")
    assert status.missed_polls == 1 and "assigned to collector garage" in status.last_missed_reason
    assert status.consecutive_failures == 0 and status.last_seen is None


def test_a_poll_that_cannot_get_its_bus_is_missed_not_failed(array: m.InverterArray) -> None:
    _inverter(array, "roof", _tcp("192.0.2.1"), poll_interval_s=1)
    ref = device_refs()[0]
    with bus_locks(ref.buses, 0):
        outcome = poll_device(ref)
    status = _status("roof")
    assert outcome.skipped and not outcome.ok
    assert (status.missed_polls, status.consecutive_failures) == (1, 0)
    assert "busy" in status.last_missed_reason


# ---- a locked database ---------------------------------------------------------------------
@pytest.fixture
def database_locked(transactional_db: None) -> Iterator[threading.Thread]:
    """Another connection holds the write lock on device_status until the event is set."""
    f.array("array1", f.system("system"))
    _up("house")
    f.inverter("roof", m.InverterArray.objects.get(), adapter=f.adapter(
        "roof_adapter", "powdrive", {"transport": "tcp", "host": "192.0.2.1"}))
    DeviceStatus.objects.create(device_type="inverter", device_id="roof", system_id="system")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = connections.create_connection("default")
        try:
            with conn.cursor() as cursor:
                if conn.vendor == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")
                else:
                    cursor.execute("BEGIN")
                    cursor.execute("LOCK TABLE device_status IN EXCLUSIVE MODE")
                locked.set()
                release.wait(30)
                cursor.execute("ROLLBACK")
        finally:
            conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    yield holder
    release.set()
    holder.join()


def test_the_dispatcher_gives_up_on_a_locked_database_instead_of_holding_its_thread(
        database_locked: threading.Thread, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert dispatch_polls() == 0
    assert database_locked.is_alive()  # it returned while the other connection still held the lock
    assert "database stayed locked" in caplog.text


def test_a_device_due_before_the_next_dispatch_is_queued_now_for_its_own_slot(array: m.InverterArray) -> None:
    _up("house")
    _inverter(array, "soon", _tcp("192.0.2.1"))
    start = timezone.now()
    first = Queues()
    dispatch_due(start, first, lookahead_s=2)
    [(_, _, slot, _)] = first.sent
    due = _status("soon").next_poll_at
    assert due == slot + timedelta(seconds=5)
    # Without the lookahead, one dispatch period before it is due, nothing goes.
    _status_poll_reported("soon")
    assert dispatch_due(due - timedelta(seconds=1.5), Queues()) == 0
    # With it, the poll is queued now, for the slot it is due at (it waits for it), and claimed.
    ahead = Queues()
    assert dispatch_due(due - timedelta(seconds=1.5), ahead, lookahead_s=2) == 1
    [(_, _, next_slot, _)] = ahead.sent
    assert next_slot == due
    status = _status("soon")
    assert status.pending_slot == due and status.next_poll_at == due + timedelta(seconds=5)
    # The next dispatch does not queue it again, nor count it missed.
    assert dispatch_due(due + timedelta(seconds=0.5), Queues(), lookahead_s=2) == 0
    assert _status("soon").missed_polls == 0


def _status_poll_reported(device_id: str) -> None:
    DeviceStatus.objects.filter(device_id=device_id).update(pending_slot=None)
