"""What the poll path keeps between polls (catalog snapshot, connections) follows the catalog and the
devices: edits are seen, a vanished device is recorded as failed and reconnected once it is back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adapters.modbus.driver import ModbusDriver
from adapters.simulators.modbus import PowdriveSimulator
from catalog import models as m
from telemetry import models as t
from telemetry import polling, snapshot
from telemetry.choices import DeviceState
from telemetry.snapshot import poll_catalog
from telemetry.tasks import poll_bus
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@pytest.fixture
def inverter() -> Iterator[PowdriveSimulator]:
    """One Powdrive inverter on Modbus TCP, behind a running simulator."""
    sim = PowdriveSimulator(serial="SN00000001").start()
    port = sim.serve_tcp(0)
    f.inverter("inv1", f.array("a1", f.system()), adapter=f.adapter(
        "inv1_ad", "powdrive", {"transport": "tcp", "host": "127.0.0.1", "port": port, "timeout": 0.5},
        poll_interval_s=5))
    t.DeviceStatus.objects.create(device_type="inverter", device_id="inv1", system_id="system",
                                  poll_interval_s=5)
    yield sim
    polling.close_readers()
    sim.stop()


def _slot(offset_s: int = 0) -> Any:
    return polling.slot_for(timezone.now(), 5) - timedelta(seconds=60 - offset_s)


def _status() -> t.DeviceStatus:
    return t.DeviceStatus.objects.get(device_id="inv1")


def test_a_catalog_edit_in_this_process_is_seen_by_the_next_poll(inverter: PowdriveSimulator) -> None:
    poll_bus(["inverter:inv1"], _slot().isoformat())
    assert t.EnergySample.objects.filter(inverter_id="inv1").count() == 1
    adapter = m.Adapter.objects.get(pk="inv1_ad")
    adapter.enabled = False
    adapter.save()
    poll_bus(["inverter:inv1"], _slot(5).isoformat())  # at once, well within the recheck time
    assert t.EnergySample.objects.filter(inverter_id="inv1").count() == 1
    assert "inverter:inv1" not in poll_catalog().refs


def test_a_catalog_edit_elsewhere_is_seen_within_the_recheck_time(
        inverter: PowdriveSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(snapshot.time, "monotonic", lambda: clock[0])
    assert "inverter:inv1" in poll_catalog().refs
    # Another process disables the adapter: no signal here, only the fingerprint can tell.
    m.Adapter.objects.filter(pk="inv1_ad").update(enabled=False, updated_at=timezone.now())
    clock[0] += snapshot.RECHECK_S / 2
    with CaptureQueriesContext(connection) as ctx:
        held = poll_catalog()
    assert len(ctx.captured_queries) == 0  # reused without asking
    assert "inverter:inv1" in held.refs
    clock[0] += snapshot.RECHECK_S
    assert "inverter:inv1" not in poll_catalog().refs


def test_a_good_poll_keeps_its_connection_and_writes_the_status_it_reports(
        inverter: PowdriveSimulator) -> None:
    ref = poll_catalog().refs["inverter:inv1"]
    assert polling.poll_device(ref, _slot()).ok
    driver = polling._READERS[ref.key][1].members[0].driver
    assert isinstance(driver, ModbusDriver)
    link = driver.link
    client = link._client
    assert polling.poll_device(ref, _slot(5)).ok
    assert link._client is client  # the same connection, not a new one per poll
    status = _status()
    assert status.state == DeviceState.ONLINE and status.consecutive_failures == 0
    assert status.next_poll_at == _slot(5) + timedelta(seconds=5)
    assert status.active_adapter_id == "inv1_ad"


def test_a_device_that_vanishes_is_recorded_as_failed_and_reconnected_when_back(
        inverter: PowdriveSimulator) -> None:
    ref = poll_catalog().refs["inverter:inv1"]
    assert polling.poll_device(ref, _slot()).ok
    port = ref.adapters[0].config["port"]
    inverter.stop()  # the inverter goes away with the connection the poller holds
    outcome = polling.poll_device(ref, _slot(5))
    assert not outcome.ok and outcome.error
    status = _status()
    assert status.consecutive_failures == 1 and status.last_error == outcome.error
    assert status.state != DeviceState.ONLINE or status.last_seen is not None
    back = PowdriveSimulator(serial="SN00000001").start()
    try:
        assert back.serve_tcp(port) == port
        outcome = polling.poll_device(ref, _slot(10))
        assert outcome.ok, outcome.error
        assert _status().consecutive_failures == 0
        assert t.EnergySample.objects.filter(inverter_id="inv1").count() == 2
    finally:
        polling.close_readers()
        back.stop()


def test_a_device_moved_to_another_system_has_its_status_moved_by_its_next_poll(
        inverter: PowdriveSimulator) -> None:
    other = f.array("b1", f.system("other"))
    m.Inverter.objects.filter(pk="inv1").update(array=other, system=other.system)
    snapshot.forget_poll_catalog()
    ref = poll_catalog().refs["inverter:inv1"]
    assert ref.system_id == "other"
    assert polling.poll_device(ref, _slot()).ok
    status = _status()
    assert status.system_id == "other" and status.state == DeviceState.ONLINE
    assert t.EnergySample.objects.get(inverter_id="inv1").system_id == "other"
