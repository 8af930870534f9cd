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
