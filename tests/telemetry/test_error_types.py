"""Driver error types: a permanent error stops retries and says so; a transient one backs off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from adapters.simulators.modbus import PowdriveSimulator
from catalog import models as m
from catalog.services import save_entity
from telemetry.choices import DeviceState
from telemetry.dispatch import dispatch_due
from telemetry.models import DeviceStatus
from telemetry.polling import close_readers, device_refs, poll_device
from telemetry.status import effective_state
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@pytest.fixture
def blank_serial() -> Iterator[PowdriveSimulator]:
    """Something answers Modbus on the port, but it is not an inverter with a serial number."""
    sim = PowdriveSimulator(serial="").start()
    yield sim
    close_readers()
    sim.stop()


def _due(now: object) -> list[str]:
    sent: list[str] = []
    dispatch_due(now, lambda owner, keys, slot, expires: sent.extend(keys))  # type: ignore[arg-type]
    DeviceStatus.objects.update(pending_slot=None)
    return sent


def test_a_wrong_device_is_not_retried_until_its_adapter_changes(blank_serial: PowdriveSimulator) -> None:
    port = blank_serial.serve_tcp(0)
    adapter = f.adapter("roof_adapter", "powdrive", {"transport": "tcp", "host": "127.0.0.1", "port": port,
                                                     "timeout": 0.5}, poll_interval_s=5)
    f.inverter("roof", f.array("array1", f.system("system")), adapter=adapter)
    outcome = poll_device(device_refs()[0])
    status = DeviceStatus.objects.get(device_id="roof")
    assert not outcome.ok and status.permanent_error
    assert "not a printable serial number" in status.last_error
    assert "not retried until the adapter's configuration changes" in status.last_error
    assert effective_state(status, timezone.now()) == DeviceState.OFFLINE
    # No retry however long it waits, so it costs the bus nothing ...
    assert _due(timezone.now() + timedelta(hours=1)) == []
    # ... until someone fixes the adapter (any save counts).
    adapter.refresh_from_db()
    adapter.name = "roof inverter, checked"
    save_entity(adapter)
    assert _due(timezone.now() + timedelta(hours=1)) == ["inverter:roof"]


def test_a_timeout_backs_off_and_is_tried_again(blank_serial: PowdriveSimulator) -> None:
    port = blank_serial.serve_tcp(0)
    blank_serial.inject(no_reply=True)
    f.inverter("roof", f.array("array1", f.system("system")), adapter=f.adapter(
        "roof_adapter", "powdrive", {"transport": "tcp", "host": "127.0.0.1", "port": port, "timeout": 0.3},
        poll_interval_s=5))
    started = timezone.now()
    poll_device(device_refs()[0])
    poll_device(device_refs()[0])
    status = DeviceStatus.objects.get(device_id="roof")
    assert not status.permanent_error and status.consecutive_failures == 2
    assert status.next_poll_at >= started + timedelta(seconds=10)  # twice the interval
    assert _due(status.next_poll_at - timedelta(seconds=1)) == []
    assert _due(status.next_poll_at) == ["inverter:roof"]


def test_a_permanent_error_of_one_adapter_is_not_the_packs_when_another_answers() -> None:
    # A pack's reader raises permanent only when every adapter failed permanently.
    pack = f.pack("pack", f.battery_array("ba", f.system("system")))
    for n, config in enumerate(({"serial_port": "/dev/nonexistent-solarmon-port"},
                                {"serial_port": "/dev/nonexistent-solarmon-port2"})):
        save_entity(m.BatteryPackAdapter(pack=pack, adapter=f.adapter(f"p{n}", "pytes", {
            **config, "timeout": 0.2}), priority=n + 1))
    poll_device(device_refs()[0])
    status = DeviceStatus.objects.get(device_id="pack")
    assert status.consecutive_failures == 1 and not status.permanent_error  # a missing port may return
