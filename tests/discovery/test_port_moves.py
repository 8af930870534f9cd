"""Devices keep their identity, history and samples when their ports change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from adapters.registry import create_driver
from catalog import models as cm
from discovery.models import DeviceDiscovery
from discovery.phases import run_discovery
from telemetry import models as tm
from telemetry.polling import close_readers, device_refs, poll_device
from tests.discovery.conftest import alias

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _poll_all(slot: datetime) -> dict[str, bool]:
    return {ref.device_id: poll_device(ref, slot).ok for ref in device_refs()}


def _serial_behind(adapter_id: str | None) -> str:
    adapter = cm.Adapter.objects.get(pk=adapter_id)
    with create_driver(adapter.adapter_type_id, {**adapter.config_json, "timeout": 0.5}) as driver:
        return driver.identify().serial_number


def test_two_inverters_that_swap_ports_keep_their_ids_rows_and_samples(
        modbus_device: Callable, alias_dir: Path) -> None:
    _, pty_a = modbus_device("powdrive", serial="AAAA000001")
    _, pty_b = modbus_device("senergy", serial="BBBB000002")
    usb0, usb1 = alias(alias_dir, "ttyUSB0", pty_a), alias(alias_dir, "ttyUSB1", pty_b)
    glob = [str(alias_dir / "ttyUSB*")]
    run_discovery(port_globs=glob)
    first_slot = timezone.now().replace(microsecond=0)
    assert _poll_all(first_slot) == {"powdrive_000001": True, "senergy_000002": True}
    close_readers()

    # A reboot enumerates the USB adapters the other way round.
    alias(alias_dir, "ttyUSB0", pty_b)
    alias(alias_dir, "ttyUSB1", pty_a)
    later = timezone.now() + timedelta(hours=1)  # the last polls are long past
    report = run_discovery(port_globs=glob, now=later)

    assert sorted((ln.port, ln.device_id, ln.action) for ln in report.lines) == [
        (usb0, "senergy_000002", "rebound"), (usb1, "powdrive_000001", "rebound")]
    a, b = DeviceDiscovery.objects.get(pk="powdrive_000001"), DeviceDiscovery.objects.get(pk="senergy_000002")
    assert (a.port, a.last_known_port, b.port, b.last_known_port) == (usb1, usb0, usb0, usb1)
    assert [h["port"] for h in a.port_history] == [usb0, usb1]
    assert cm.Adapter.objects.get(pk=a.adapter_id).config_json["serial_port"] == usb1
    assert cm.Adapter.objects.get(pk=b.adapter_id).config_json["serial_port"] == usb0
    assert DeviceDiscovery.objects.count() == 2 and cm.Inverter.objects.count() == 2
    # The next polls read each device from its new port into its old rows.
    assert _serial_behind(a.adapter_id) == "AAAA000001" and _serial_behind(b.adapter_id) == "BBBB000002"
    assert _poll_all(first_slot + timedelta(seconds=10)) == {"powdrive_000001": True, "senergy_000002": True}
    assert tm.EnergySample.objects.filter(inverter_id="powdrive_000001").count() == 2
    assert tm.EnergySample.objects.filter(inverter_id="senergy_000002").count() == 2


def test_a_device_found_on_a_new_port_is_rebound_and_its_old_port_is_remembered(
        modbus_device: Callable, alias_dir: Path, silent_port: str) -> None:
    _, pty = modbus_device("iammeter", serial="IAM3080T00099999")
    old = alias(alias_dir, "ttyUSB0", pty)
    run_discovery(port_globs=[str(alias_dir / "tty*")])
    (alias_dir / "ttyUSB0").unlink()
    new = alias(alias_dir, "ttyACM3", pty)

    report = run_discovery(port_globs=[str(alias_dir / "tty*")])

    row = DeviceDiscovery.objects.get()
    assert (row.port, row.last_known_port, row.status, row.failure_count) == (new, old, "active", 0)
    assert [(ln.port, ln.action) for ln in report.lines] == [(new, "rebound")]
    assert cm.Meter.objects.get().adapter.config_json["serial_port"] == new


def test_a_by_id_link_is_stored_instead_of_the_kernel_name(
        modbus_device: Callable, tmp_path: Path) -> None:
    _, pty = modbus_device("powdrive", serial="PD23456789")
    by_id = tmp_path / "by-id"  # the fixture points SOLARMON_DISCOVERY_BY_ID_DIR here
    by_id.mkdir()
    link = alias(by_id, "usb-FTDI_FT232R_USB_UART_A602AAJR-if00-port0", pty)

    run_discovery(port_globs=[pty])

    assert DeviceDiscovery.objects.get().port == link
    assert cm.Inverter.objects.get().adapter.config_json["serial_port"] == link
