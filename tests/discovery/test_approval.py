"""With approval required, found devices wait; staff approve or reject them in the admin or the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog import models as cm
from discovery.models import DeviceDiscovery
from discovery.phases import run_discovery
from tests.discovery.conftest import ModbusBench

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@pytest.fixture
def pending_inverter(modbus_device: ModbusBench, settings: object) -> Iterator[str]:
    """A powdrive found while approval is required; yields its port."""
    settings.SOLARMON_DISCOVERY_REQUIRE_APPROVAL = True  # type: ignore[attr-defined]
    _, path = modbus_device("powdrive", serial="PD23456789")
    report = run_discovery(port_globs=[path])
    assert [(ln.device_id, ln.action) for ln in report.lines] == [("powdrive_456789", "pending approval")]
    yield path


@pytest.fixture
def staff() -> User:
    return User.objects.create_superuser("boss", password="pw-for-tests-only")


@pytest.fixture
def api(staff: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


def _admin_action(client: Client, action: str, device_id: str) -> None:
    url = reverse("admin:discovery_devicediscovery_changelist")
    response = client.post(url, {"action": action, "_selected_action": [device_id]})
    assert response.status_code == 302


def test_a_pending_device_has_no_catalog_entry_until_approved_in_the_admin(
        pending_inverter: str, client: Client, staff: User) -> None:
    row = DeviceDiscovery.objects.get()
    assert row.status == "pending" and row.adapter_id is None
    assert not cm.Inverter.objects.exists() and not cm.Adapter.objects.exists()
    client.force_login(staff)
    assert client.get(reverse("admin:discovery_devicediscovery_changelist")).status_code == 200

    _admin_action(client, "approve", "powdrive_456789")

    row.refresh_from_db()
    assert row.status == "active"
    inverter = cm.Inverter.objects.select_related("adapter").get(pk="powdrive_456789")
    assert inverter.adapter is not None and inverter.adapter.config_json["serial_port"] == pending_inverter
    assert row.adapter_id == inverter.adapter.pk


def test_a_pending_device_stays_pending_on_the_next_scan(pending_inverter: str) -> None:
    report = run_discovery(port_globs=[pending_inverter])
    assert [ln.action for ln in report.lines] == ["pending approval"]
    assert DeviceDiscovery.objects.count() == 1 and not cm.Inverter.objects.exists()


def test_a_device_rejected_in_the_admin_is_never_configured_by_later_scans(
        pending_inverter: str, client: Client, staff: User) -> None:
    client.force_login(staff)
    _admin_action(client, "reject", "powdrive_456789")

    report = run_discovery(port_globs=[pending_inverter], respect_port_backoff=False)

    assert [ln.action for ln in report.lines] == ["rejected"]
    row = DeviceDiscovery.objects.get()
    assert row.status == "rejected" and row.serial_number == "PD23456789"
    assert not cm.Inverter.objects.exists()


def test_the_api_lists_approves_and_rejects_discovered_devices(pending_inverter: str, api: APIClient,
                                                               modbus_device: ModbusBench) -> None:
    listing = api.get("/api/discovered-devices/", {"status": "pending"})
    assert listing.status_code == 200
    assert [d["device_id"] for d in listing.json()["results"]] == ["powdrive_456789"]

    approved = api.post("/api/discovered-devices/powdrive_456789/approve/")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "active"
    assert approved.json()["adapter_id"] == "powdrive_456789_adapter"
    assert cm.Inverter.objects.filter(pk="powdrive_456789").exists()

    rejected = api.post("/api/discovered-devices/powdrive_456789/reject/")
    assert rejected.json()["status"] == "rejected"
    assert not cm.Adapter.objects.get(pk="powdrive_456789_adapter").enabled  # no longer polled


def test_the_api_runs_discovery_and_answers_with_the_report(api: APIClient, modbus_device: ModbusBench,
                                                            settings: object) -> None:
    _, path = modbus_device("iammeter", serial="IAM3080T00012345")

    response = api.post("/api/discovered-devices/run/", {"ports": [path], "wait": True}, format="json")

    assert response.status_code == 200, response.content
    assert [(ln["port"], ln["device_id"], ln["action"]) for ln in response.json()["lines"]] == [
        (path, "iammeter_012345", "created")]
    ports = api.get("/api/discovery-ports/").json()["results"]
    assert [(p["port"], p["last_result"]) for p in ports] == [(path, "identified")]


def test_only_staff_may_approve(pending_inverter: str) -> None:
    user = User.objects.create_user("viewer", password="pw-for-tests-only")
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/api/discovered-devices/").status_code == 200
    assert client.post("/api/discovered-devices/powdrive_456789/approve/").status_code == 403
    assert DeviceDiscovery.objects.get().status == "pending"


def test_the_api_only_runs_discovery_on_device_paths(api: APIClient) -> None:
    response = api.post("/api/discovered-devices/run/", {"ports": ["/etc/*"], "wait": True}, format="json")
    assert response.status_code == 400
    assert "ports" in response.json()
