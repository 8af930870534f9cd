"""The spec's §12 discovery query runs unchanged; ``discover --once`` prints its table; adoption."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from catalog import models as cm
from discovery.models import DeviceDiscovery
from discovery.phases import run_discovery
from discovery.tasks import run_discovery as run_discovery_task
from tests import factories as f
from tests.discovery.conftest import ModbusBench

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

# Spec §12, "Get auto-discovered devices pending approval", verbatim (but a trailing space).
PENDING_APPROVAL = """
SELECT
    device_id,
    device_type,
    serial_number,
    port,
    status,
    is_auto_discovered,
    discovery_timestamp
FROM device_discovery
WHERE is_auto_discovered = 1 AND status = 'active'
ORDER BY discovery_timestamp DESC;
"""


def test_the_spec_query_lists_auto_discovered_active_devices(modbus_device: ModbusBench) -> None:
    _, first = modbus_device("powdrive", serial="PD23456789")
    _, second = modbus_device("senergy", serial="SE6K2023A0001234")
    run_discovery(port_globs=[first])
    run_discovery(port_globs=[first, second])  # the senergy is discovered later
    DeviceDiscovery.objects.filter(pk="powdrive_456789").update(is_auto_discovered=False)

    with connection.cursor() as cursor:
        cursor.execute(PENDING_APPROVAL)
        rows = cursor.fetchall()

    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("senergy_001234", "senergy", "SE6K2023A0001234", second, "active", 1)]


def test_discover_once_prints_port_answer_device_serial_and_action(
        modbus_device: ModbusBench, silent_port: str) -> None:
    _, path = modbus_device("powdrive", serial="PD23456789")
    out = StringIO()

    call_command("discover", "--once", "--ports", path, silent_port, stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["port", "answered", "device", "serial", "number", "action"]
    by_port = {line.split()[0]: line for line in lines[1:]}
    assert by_port[path].split()[-3:] == ["powdrive_456789", "PD23456789", "created"]
    assert "powdrive:" in by_port[path]
    assert by_port[silent_port].split()[1:] == ["silent", "-", "-", "silent"]


def test_a_device_configured_by_hand_is_adopted_not_duplicated(modbus_device: ModbusBench) -> None:
    _, path = modbus_device("powdrive", serial="PD23456789")
    sys = f.system("system")
    adapter = f.adapter("roof_inverter_adapter", "powdrive", {"transport": "rtu", "serial_port": path})
    f.inverter("roof_inverter", f.array("array1", sys), adapter=adapter, serial_number="PD23456789")

    report = run_discovery(port_globs=[path])

    assert [(ln.device_id, ln.action) for ln in report.lines] == [("roof_inverter", "adopted")]
    row = DeviceDiscovery.objects.get()
    assert (row.adapter_id, row.is_auto_discovered, row.catalog_device_id) == (
        "roof_inverter_adapter", False, "roof_inverter")
    assert cm.Inverter.objects.count() == 1 and cm.Adapter.objects.count() == 1


def test_the_periodic_task_scans_the_configured_include_globs(
        modbus_device: ModbusBench, settings: object) -> None:
    _, path = modbus_device("senergy", serial="SE6K2023A0001234")
    settings.SOLARMON_DISCOVERY_INCLUDE_GLOBS = [path]  # type: ignore[attr-defined]

    run_discovery_task()

    assert cm.Inverter.objects.filter(pk="senergy_001234").exists()


def test_filtering_on_the_auto_discovered_flag_works_on_every_database(db: None) -> None:
    from discovery.models import DeviceDiscovery

    assert list(DeviceDiscovery.objects.filter(is_auto_discovered=False)) == []
    assert list(DeviceDiscovery.objects.filter(is_auto_discovered=True)) == []
