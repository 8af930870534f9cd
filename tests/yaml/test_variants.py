"""The older spellings of §3.2 import to the same rows as the §7 shape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from catalog import models as m
from tests.yaml.conftest import run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

WriteYaml = Callable[..., Path]

OLD_STYLE = """
home:
  id: house
  name: House
arrays:
  - id: array1
    home_id: house
    inverter_ids: [inv1]
inverters:
  - id: inv1
    name: Inverter
    adapter:
      type: powdrive
      transport: tcp
      host: 192.0.2.10
      poll_interval_s: 20
battery_bank_arrays:
  - id: ba1
    home_id: house
    battery_bank_ids: [bank1, bank2]
battery_banks:
  - id: bank1
    name: Bank
    adapter:
      type: pytes
      serial_port: /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1-if00-port0
    batteries: 2
    cells_per_battery: 16
  - id: bank2
    name: Second bank
    battery_array_id: ba1
    adapters:
      - type: jkbms_tcpip
        host: 192.0.2.48
      - type: jkbms_ble
        bt_addresses: ["C8:47:80:1A:1F:04"]
        enabled: false
battery_bank_array_attachments:
  - battery_bank_array_id: ba1
    inverter_array_id: array1
meters:
  - id: meter1
    name: IAMMeter
    array_id: home
    adapter:
      type: iammeter
      transport: tcp
      host: 192.0.2.23
  - id: meter2
    attachment_target: array1
"""


def test_home_home_id_inline_adapters_and_member_lists(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(write_yaml(OLD_STYLE)))
    assert m.System.objects.get().pk == "house"
    inverter = m.Inverter.objects.get()
    assert (inverter.array_id, inverter.system_id, inverter.adapter_id) == ("array1", "house", "inv1_adapter")
    adapter = m.Adapter.objects.get(pk="inv1_adapter")
    assert adapter.poll_interval_s == 20.0
    assert "poll_interval_s" not in adapter.config_json
    assert m.BatteryPack.objects.get(pk="bank1").battery_array_id == "ba1"
    assert m.BatteryCell.objects.filter(pack="bank1").count() == 32


def test_pack_adapters_get_ids_and_priorities_from_their_position(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(write_yaml(OLD_STYLE)))
    links = m.BatteryPackAdapter.objects.order_by("pack", "priority").values_list(
        "pack_id", "adapter_id", "priority", "enabled")
    assert list(links) == [("bank1", "bank1_adapter", 1, True), ("bank2", "bank2_adapter_1", 1, True),
                           ("bank2", "bank2_adapter_2", 2, False)]
    failover = m.Adapter.objects.get(pk="bank2_adapter_2")
    assert (failover.device_id, failover.device_type, failover.priority, failover.enabled) == (
        "bank2", "battery_pack", 2, False)


def test_meter_array_id_home_means_system_level(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(write_yaml(OLD_STYLE)))
    system_meter = m.Meter.objects.get(pk="meter1")
    assert (system_meter.array_id, system_meter.attachment_target, system_meter.adapter_id) == (
        None, "system", "meter1_adapter")
    array_meter = m.Meter.objects.get(pk="meter2")
    assert (array_meter.array_id, array_meter.attachment_target) == ("array1", "array1")


def test_attachment_without_a_start_time_is_stable_across_imports(write_yaml: WriteYaml) -> None:
    path = write_yaml(OLD_STYLE)
    run("import_yaml", str(path))
    since = m.BatteryArrayAttachment.objects.get().attached_since
    assert "0 created, 0 updated" in run("import_yaml", str(path))
    assert m.BatteryArrayAttachment.objects.get().attached_since == since


def test_system_as_the_top_level_name(write_yaml: WriteYaml) -> None:
    text = OLD_STYLE.replace("home:\n  id: house", "system:\n  id: house").replace("array_id: home",
                                                                                   "array_id: system")
    run("import_yaml", str(write_yaml(text)))
    assert m.System.objects.get().pk == "house"
    assert m.Meter.objects.get(pk="meter1").array_id is None


def test_naive_times_are_read_in_the_system_timezone(write_yaml: WriteYaml) -> None:
    text = OLD_STYLE.replace("    inverter_array_id: array1\n",
                             "    inverter_array_id: array1\n    attached_since: 2025-01-01 00:00:00\n", 1)
    text = text.replace("  name: House\n", "  name: House\n  timezone: Asia/Karachi\n")
    run("import_yaml", str(write_yaml(text)))
    since = m.BatteryArrayAttachment.objects.get().attached_since
    assert since.isoformat() == "2024-12-31T19:00:00+00:00"  # midnight in Karachi (UTC+5)
