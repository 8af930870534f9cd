"""A new device on a free port is identified, configured in the catalog, and then polled."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from catalog import constants
from catalog import models as cm
from discovery.models import DeviceDiscovery
from discovery.phases import run_discovery
from telemetry import models as tm
from telemetry.polling import device_refs, poll_device
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _poll(device_id: str) -> bool:
    ref = next(r for r in device_refs() if r.device_id == device_id)
    return poll_device(ref).ok


def test_new_inverter_is_configured_in_the_default_array_and_its_next_poll_stores_samples(
        modbus_device: Callable) -> None:
    _, path = modbus_device("powdrive", serial="PD23456789")

    report = run_discovery(port_globs=[path])

    row = DeviceDiscovery.objects.get()
    assert (row.device_id, row.device_type, row.serial_number, row.port) == (
        "powdrive_456789", "powdrive", "PD23456789", path)
    assert row.status == "active" and row.is_auto_discovered
    inverter = cm.Inverter.objects.select_related("adapter").get(pk="powdrive_456789")
    assert inverter.array_id == constants.DEFAULT_ARRAY_ID
    assert inverter.system_id == constants.DEFAULT_SYSTEM_ID
    assert inverter.serial_number == "PD23456789"
    assert inverter.adapter is not None and inverter.adapter.config_json["serial_port"] == path
    assert row.adapter_id == inverter.adapter.pk
    assert [(ln.port, ln.device_id, ln.action) for ln in report.lines] == [
        (path, "powdrive_456789", "created")]

    assert _poll("powdrive_456789")
    assert tm.EnergySample.objects.filter(inverter_id="powdrive_456789").count() == 1


def test_new_battery_pack_gets_its_units_and_cells_and_the_next_poll_stores_them(
        pytes_device: Callable) -> None:
    sim = pytes_device(batteries=2, cells_per_battery=15)

    run_discovery(port_globs=[sim.path])

    row = DeviceDiscovery.objects.get()
    barcode = sim.serials[1]  # the console names itself by its first unit's barcode
    assert row.serial_number == barcode and row.device_type == "pytes"
    pack = cm.BatteryPack.objects.get(pk=row.device_id)
    assert pack.battery_array_id == constants.DEFAULT_BATTERY_ARRAY_ID
    link = cm.BatteryPackAdapter.objects.get(pack=pack)
    assert link.adapter.config_json["serial_port"] == sim.path
    assert link.adapter.config_json["cells_per_battery"] == 15  # from `info 1`
    assert cm.BatteryCell.objects.filter(pack=pack).count() == 15
    assert cm.Battery.objects.get(pack=pack, battery_index=0).serial_number == barcode

    assert _poll(row.device_id)
    assert tm.BatteryBankSample.objects.filter(pack_id=row.device_id).count() == 1
    assert tm.BatteryUnitSample.objects.filter(pack_id=row.device_id).count() == 2


def test_new_meter_is_attached_at_system_level(modbus_device: Callable) -> None:
    _, path = modbus_device("iammeter", serial="IAM3080T00012345")

    run_discovery(port_globs=[path])

    meter = cm.Meter.objects.select_related("adapter").get(pk="iammeter_012345")
    assert meter.array_id is None and meter.attachment_target == "system"
    assert meter.adapter is not None and meter.adapter.config_json["transport"] == "rtu"
    assert _poll("iammeter_012345")
    assert tm.MeterSample.objects.filter(meter_id="iammeter_012345").count() == 1


def test_missing_default_arrays_are_created_in_an_existing_system(modbus_device: Callable) -> None:
    f.system("home", name="Home")
    _, path = modbus_device("senergy", serial="SE6K2023A0001234")

    run_discovery(port_globs=[path])

    inverter = cm.Inverter.objects.get(pk="senergy_001234")
    assert (inverter.array_id, inverter.system_id) == (constants.DEFAULT_ARRAY_ID, "home")
    assert cm.BatteryArray.objects.get(pk=constants.DEFAULT_BATTERY_ARRAY_ID).system_id == "home"
    assert cm.BatteryArrayAttachment.objects.filter(
        battery_array_id=constants.DEFAULT_BATTERY_ARRAY_ID, inverter_array_id=constants.DEFAULT_ARRAY_ID,
        detached_at__isnull=True).exists()


def test_two_identical_inverters_are_told_apart_by_serial_number(modbus_device: Callable) -> None:
    # Same model, and serials that even end alike: the ids grow until they differ.
    _, first = modbus_device("powdrive", serial="AA11223344")
    _, second = modbus_device("powdrive", serial="BB11223344")

    run_discovery(port_globs=[first, second])

    ports = dict(DeviceDiscovery.objects.values_list("serial_number", "port"))
    assert ports == {"AA11223344": first, "BB11223344": second}
    ids = set(cm.Inverter.objects.values_list("inverter_id", flat=True))
    assert len(ids) == 2 and "powdrive_223344" in ids
    other = (ids - {"powdrive_223344"}).pop()
    assert other.startswith("powdrive_") and other.endswith("223344") and len(other) > len("powdrive_223344")
    for inverter in cm.Inverter.objects.select_related("adapter"):
        assert inverter.adapter is not None
        assert inverter.adapter.config_json["serial_port"] == ports[str(inverter.serial_number)]
        assert _poll(inverter.pk)


def test_a_second_run_creates_no_duplicates(modbus_device: Callable, pytes_device: Callable) -> None:
    _, path = modbus_device("powdrive", serial="PD23456789")
    sim = pytes_device()
    run_discovery(port_globs=[path, sim.path])
    counts = (DeviceDiscovery.objects.count(), cm.Inverter.objects.count(), cm.BatteryPack.objects.count(),
              cm.Adapter.objects.count(), cm.Battery.objects.count(), cm.BatteryCell.objects.count())

    again = run_discovery(port_globs=[path, sim.path])

    assert counts == (2, 1, 1, 2, 1, 16)
    assert (DeviceDiscovery.objects.count(), cm.Inverter.objects.count(), cm.BatteryPack.objects.count(),
            cm.Adapter.objects.count(), cm.Battery.objects.count(), cm.BatteryCell.objects.count()) == counts
    assert sorted(line.action for line in again.lines) == ["verified", "verified"]
