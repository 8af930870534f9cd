"""Discovery page: ports and discovered devices; approve and reject call the API in place."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from catalog import models as cm
from discovery.models import DeviceDiscovery, PortProbe
from tests.dashboard.conftest import PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(60)]


def found(device_id: str, device_type: str, serial: str, port: str) -> DeviceDiscovery:
    now = timezone.now()
    return DeviceDiscovery.objects.create(
        device_id=device_id, device_type=device_type, serial_number=serial, model="SUN-8K", port=port,
        adapter_config={"transport": "rtu", "serial_port": port}, status="pending", first_discovered=now,
        last_seen=now, discovery_timestamp=now)


def test_approve_and_reject_change_the_row_and_the_database(page: Any) -> None:
    found("powdrive_111111", "powdrive", "PD00111111", "/dev/ttyUSB3")
    found("powdrive_222222", "powdrive", "PD00222222", "/dev/ttyUSB4")
    PortProbe.objects.create(port="/dev/ttyUSB3", last_result="identified", device_id="powdrive_111111",
                             last_probe_at=timezone.now())
    PortProbe.objects.create(port="/dev/ttyS0", last_result="silent", strikes=2, last_probe_at=timezone.now())

    page.goto("/discovery/")
    assert page.locator("#ports tbody tr").count() == 2
    assert "Silent" in page.locator('tr[data-port="/dev/ttyS0"]').inner_text()
    screenshot(page, "discovery-desktop")
    first = page.locator('tr[data-device-id="powdrive_111111"]')
    second = page.locator('tr[data-device-id="powdrive_222222"]')

    first.locator('button[data-action="approve"]').click()
    page.wait_for_selector('tr[data-device-id="powdrive_111111"][data-status="active"]')
    assert first.locator('[data-field="status"]').inner_text() == "active"
    assert first.locator('button[data-action="approve"]').is_hidden()
    assert DeviceDiscovery.objects.get(pk="powdrive_111111").status == "active"
    assert cm.Inverter.objects.filter(pk="powdrive_111111", adapter__enabled=True).exists()

    second.locator('button[data-action="reject"]').click()
    page.wait_for_selector('tr[data-device-id="powdrive_222222"][data-status="rejected"]')
    assert second.locator('button[data-action="reject"]').is_hidden()
    assert second.locator('button[data-action="approve"]').is_visible()
    assert DeviceDiscovery.objects.get(pk="powdrive_222222").status == "rejected"
    assert not cm.Inverter.objects.filter(pk="powdrive_222222").exists()
    page.set_viewport_size(PHONE)
    screenshot(page, "discovery-phone")


def test_an_empty_discovery_page_says_how_to_find_devices(page: Any) -> None:
    page.goto("/discovery/")
    assert "No devices discovered yet" in page.locator("#no-discovered").inner_text()
    assert page.locator("#no-ports").is_visible()
