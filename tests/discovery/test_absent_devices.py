"""A device that goes missing backs off, and is disabled only after the maximum number of misses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from catalog import models as cm
from discovery.models import DeviceDiscovery
from discovery.phases import run_discovery
from telemetry.polling import device_refs
from tests.discovery.conftest import ModbusBench, alias

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

BASE_S = 60.0


@pytest.fixture
def found_then_gone(modbus_device: ModbusBench, alias_dir: Path, settings: object) -> str:
    """A powdrive found once on ``ttyUSB0``, then unplugged; returns the glob of the ports."""
    settings.SOLARMON_DISCOVERY_MAX_FAILURES = 3  # type: ignore[attr-defined]
    settings.SOLARMON_DISCOVERY_RETRY_BASE_S = BASE_S  # type: ignore[attr-defined]
    sim, path = modbus_device("powdrive", serial="PD23456789")
    alias(alias_dir, "ttyUSB0", path)
    run_discovery(port_globs=[str(alias_dir / "tty*")])
    modbus_device.unplug(sim)
    (alias_dir / "ttyUSB0").unlink()
    return str(alias_dir / "tty*")


def test_a_missing_device_backs_off_and_is_disabled_only_after_the_maximum_misses(
        found_then_gone: str) -> None:
    start = timezone.now()

    first = run_discovery(port_globs=[found_then_gone], now=start)
    row = DeviceDiscovery.objects.get()
    assert (row.status, row.failure_count) == ("recovering", 1)
    assert row.next_retry_time == start + timedelta(seconds=BASE_S)
    assert [(ln.device_id, ln.action) for ln in first.lines] == [("powdrive_456789", "missing")]
    assert cm.Adapter.objects.get(pk=row.adapter_id).enabled  # still polled: it may come back

    # Before its retry time the device is not looked for, and no miss is counted.
    run_discovery(port_globs=[found_then_gone], now=start + timedelta(seconds=BASE_S / 2))
    assert DeviceDiscovery.objects.get().failure_count == 1

    second_at = start + timedelta(seconds=BASE_S)
    run_discovery(port_globs=[found_then_gone], now=second_at)
    row = DeviceDiscovery.objects.get()
    assert (row.status, row.failure_count) == ("recovering", 2)
    assert row.next_retry_time == second_at + timedelta(seconds=2 * BASE_S)  # doubled

    run_discovery(port_globs=[found_then_gone], now=second_at + timedelta(seconds=2 * BASE_S))
    row = DeviceDiscovery.objects.get()
    assert (row.status, row.failure_count, row.next_retry_time) == ("disabled", 3, None)
    assert not cm.Adapter.objects.get(pk=row.adapter_id).enabled
    assert device_refs() == []  # no longer polled; its catalog rows stay
    assert cm.Inverter.objects.filter(pk="powdrive_456789").exists()


def test_a_device_that_comes_back_while_recovering_is_active_again(
        modbus_device: ModbusBench, alias_dir: Path, found_then_gone: str) -> None:
    run_discovery(port_globs=[found_then_gone])
    assert DeviceDiscovery.objects.get().status == "recovering"
    _, pty = modbus_device("powdrive", serial="PD23456789")
    new_path = alias(alias_dir, "ttyUSB1", pty)

    # Found by the scan of new devices even before its retry time has come.
    report = run_discovery(port_globs=[found_then_gone])

    row = DeviceDiscovery.objects.get()
    assert (row.status, row.failure_count, row.next_retry_time, row.port) == ("active", 0, None, new_path)
    assert [(ln.device_id, ln.action) for ln in report.lines] == [("powdrive_456789", "rebound")]
