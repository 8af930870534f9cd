"""Discovery per collector: each scans its own ports and answers only for the devices it found."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from catalog import models as cm
from catalog.collectors import collector_register
from discovery.models import DeviceDiscovery, PortProbe
from discovery.phases import run_discovery
from tests import factories as f
from tests.discovery.conftest import ModbusBench, alias

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@pytest.fixture
def two_collectors() -> None:
    now = timezone.now()
    collector_register("house", host="house", ports=[], now=now)
    collector_register("garage", host="garage", ports=[], now=now)


def test_a_device_found_by_one_collector_is_never_missed_by_the_other(
        two_collectors: None, modbus_device: ModbusBench, alias_dir: Path, tmp_path: Path) -> None:
    _, path = modbus_device("powdrive", serial="PD23456789")
    alias(alias_dir, "ttyUSB0", path)
    run_discovery(port_globs=[str(alias_dir / "tty*")], collector="garage")
    row = DeviceDiscovery.objects.get()
    assert row.collector_id == "garage"
    # The house has nothing plugged in; its scans must not count the garage's device missing.
    empty = tmp_path / "house-dev"
    empty.mkdir()
    for _ in range(3):
        report = run_discovery(port_globs=[str(empty / "tty*")], collector="house")
        assert report.lines == []
    row.refresh_from_db()
    assert (row.status, row.failure_count) == ("active", 0)


def test_with_several_collectors_a_new_device_is_polled_by_the_one_that_found_it(
        two_collectors: None, modbus_device: ModbusBench, alias_dir: Path) -> None:
    _, path = modbus_device("senergy", serial="SE6K2023A0001234")
    alias(alias_dir, "ttyUSB0", path)
    run_discovery(port_globs=[str(alias_dir / "tty*")], collector="garage")
    assert cm.Adapter.objects.get().collector_id == "garage"
    probes = {(p.collector, p.port) for p in PortProbe.objects.all()}
    assert probes == {("garage", str(alias_dir / "ttyUSB0"))}


def test_a_single_host_keeps_its_discovered_adapters_implicit(modbus_device: ModbusBench,
                                                              alias_dir: Path) -> None:
    _, path = modbus_device("senergy", serial="SE6K2023A0001234")
    alias(alias_dir, "ttyUSB0", path)
    run_discovery(port_globs=[str(alias_dir / "tty*")], collector="pi")
    assert cm.Adapter.objects.get().collector_id is None  # nothing to configure with one collector
    assert DeviceDiscovery.objects.get().collector_id == "pi"


def test_a_device_whose_usb_adapter_moved_to_another_host_follows_it(
        two_collectors: None, modbus_device: ModbusBench, alias_dir: Path, tmp_path: Path) -> None:
    _, path = modbus_device("powdrive", serial="PD23456789")
    alias(alias_dir, "ttyUSB0", path)
    run_discovery(port_globs=[str(alias_dir / "tty*")], collector="garage")
    # Unplugged from the garage's Pi, plugged into the house's, where it has another name.
    house = tmp_path / "house-dev"
    house.mkdir()
    alias(house, "ttyACM0", path)
    run_discovery(port_globs=[str(house / "tty*")], collector="house")
    row = DeviceDiscovery.objects.select_related("adapter").get()
    assert (row.collector_id, row.adapter.collector_id) == ("house", "house")
    assert row.port == str(house / "ttyACM0")
    assert row.adapter.config_json["serial_port"] == str(house / "ttyACM0")


def test_another_hosts_adapter_on_a_port_of_the_same_name_is_not_adopted(
        two_collectors: None, modbus_device: ModbusBench, alias_dir: Path) -> None:
    _, path = modbus_device("powdrive", serial="PD23456789")
    port = alias(alias_dir, "ttyUSB0", path)
    # The garage has an inverter configured by hand on its own ttyUSB0 (same name, other host).
    f.inverter("shed", f.array("array1", f.system("system")), adapter=f.adapter(
        "shed_adapter", "powdrive", {"transport": "rtu", "serial_port": port}, collector_id="garage"))
    report = run_discovery(port_globs=[str(alias_dir / "tty*")], collector="house")
    assert [line.action for line in report.lines] == ["created"]
    row = DeviceDiscovery.objects.get()
    assert row.adapter_id != "shed_adapter" and row.collector_id == "house"
