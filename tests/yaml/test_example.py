"""The example configuration imports into the rows the spec's topology describes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog import models as m
from tests.yaml.conftest import EXAMPLE, counts_line, run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def test_example_creates_every_table_s_rows() -> None:
    output = run("import_yaml", str(EXAMPLE))
    # Hand-counted from the example: 2 arrays, 3 inverters, 2 battery arrays, 2 packs with
    # 1 + 2 adapters, 4×15 + 2×16 cells, a system-level meter with its adapter.
    expected = {"systems": 1, "arrays": 2, "inverters": 3, "battery_arrays": 2, "battery_packs": 2,
                "adapters": 7, "battery_pack_adapters": 3, "batteries": 6, "battery_cells": 4 * 15 + 2 * 16,
                "battery_array_attachments": 2, "meters": 1}
    for table, count in expected.items():
        assert counts_line(output, table) == (count, 0, 0, 0), table
    assert m.BatteryCell.objects.count() == 92
    assert m.Adapter.objects.count() == 7


def test_example_hierarchy_has_the_spec_s_parents() -> None:
    run("import_yaml", str(EXAMPLE))
    system = m.System.objects.get()
    assert (system.pk, system.name, system.timezone) == ("system", "My Solar System", "Asia/Karachi")
    assert dict(m.Inverter.objects.values_list("inverter_id", "array_id")) == {
        "powdrive1": "array2", "powdrive2": "array1", "senergy1": "array1"}
    assert set(m.Inverter.objects.values_list("system_id", flat=True)) == {"system"}
    assert dict(m.BatteryPack.objects.values_list("pack_id", "battery_array_id")) == {
        "battery1": "battery_array2", "jkbms_bank_ble": "battery_array1"}
    assert sorted(m.BatteryArrayAttachment.objects.values_list(
        "battery_array_id", "inverter_array_id", "attached_since", "detached_at")) == [
        ("battery_array1", "array1", datetime(2024, 12, 31, 19, tzinfo=UTC), None),
        ("battery_array2", "array2", datetime(2024, 12, 31, 19, tzinfo=UTC), None)]


def test_example_adapters_are_linked_to_their_devices() -> None:
    run("import_yaml", str(EXAMPLE))
    powdrive = m.Inverter.objects.select_related("adapter").get(pk="powdrive1")
    assert powdrive.adapter is not None
    assert powdrive.adapter.pk == "powdrive1_adapter"
    assert powdrive.adapter.adapter_type_id == "powdrive"
    assert powdrive.adapter.config_json["transport"] == "rtu"
    assert powdrive.adapter.config_json["serial_port"].startswith("/dev/serial/by-id/usb-FTDI")
    assert (powdrive.adapter.device_id, powdrive.adapter.device_type) == ("powdrive1", "inverter")
    links = list(m.BatteryPackAdapter.objects.filter(pack="jkbms_bank_ble").order_by("priority")
                 .values_list("adapter_id", "adapter__adapter_type", "priority", "enabled"))
    assert links == [("jkbms_bank_ble_adapter_primary", "jkbms_tcpip", 1, True),
                     ("jkbms_bank_ble_adapter_failover", "jkbms_ble", 2, True)]
    meter = m.Meter.objects.get(pk="grid_meter_1")
    assert (meter.array_id, meter.attachment_target, meter.adapter_id, meter.type) == (
        None, "system", "grid_meter_1_adapter", "grid")
    assert m.Adapter.objects.get(pk="grid_meter_1_adapter").device_id == "grid_meter_1"


def test_example_pack_units_are_indexed_from_zero() -> None:
    run("import_yaml", str(EXAMPLE))
    indexes = m.Battery.objects.filter(pack="battery1").values_list("battery_index", flat=True)
    assert list(indexes) == [0, 1, 2, 3]
    cells = m.BatteryCell.objects.filter(battery__pack="battery1", battery__battery_index=3)
    assert sorted(cells.values_list("cell_index", flat=True)) == list(range(15))
    assert set(cells.values_list("pack_id", "battery_array_id", "system_id")) == {
        ("battery1", "battery_array2", "system")}
    assert m.BatteryCell.objects.filter(pack="jkbms_bank_ble").count() == 32


def test_example_adapter_configs_keep_type_out_of_config_json() -> None:
    run("import_yaml", str(EXAMPLE))
    for adapter in m.Adapter.objects.all():
        assert "type" not in adapter.config_json
