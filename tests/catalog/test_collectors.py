"""Collectors: who owns an adapter, when a collector is down, and assignments on every write path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from catalog import models as m
from catalog.collectors import Owners, collector_register, collector_state, collector_stopped
from catalog.services import save_entity
from tests import factories as f

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _collector(name: str, beat: datetime | None = NOW, ports: list[str] | None = None) -> m.Collector:
    return m.Collector.objects.create(name=name, last_heartbeat=beat, ports=ports or [])


def _tcp(adapter_id: str, **kw: Any) -> m.Adapter:
    return f.adapter(adapter_id, "powdrive", {"transport": "tcp", "host": "192.0.2.1"}, **kw)


def _serial(adapter_id: str, port: str, **kw: Any) -> m.Adapter:
    return f.adapter(adapter_id, "powdrive", {"transport": "rtu", "serial_port": port}, **kw)


def test_a_collector_is_down_once_its_heartbeat_is_older_than_the_limit(settings: Any) -> None:
    settings.SOLARMON_COLLECTOR_DOWN_AFTER_S = 60
    row = _collector("pi")
    assert collector_state(row, NOW + timedelta(seconds=59)) == "up"
    assert collector_state(row, NOW + timedelta(seconds=61)) == "down"
    assert collector_state(_collector("new", beat=None), NOW) == "down"  # never seen running


def test_a_clean_shutdown_is_down_at_once_and_a_restart_is_up_again() -> None:
    collector_register("pi", host="pi", ports=[], now=NOW)
    collector_stopped("pi", NOW + timedelta(seconds=1))
    assert collector_state(m.Collector.objects.get(), NOW + timedelta(seconds=2)) == "down"
    collector_register("pi", host="pi", ports=["/dev/ttyUSB0"], now=NOW + timedelta(seconds=3))
    row = m.Collector.objects.get()
    assert collector_state(row, NOW + timedelta(seconds=4)) == "up"
    assert row.ports == ["/dev/ttyUSB0"] and row.version


def test_an_assigned_adapter_belongs_to_its_collector_even_while_it_is_down() -> None:
    _collector("house")
    _collector("garage", beat=NOW - timedelta(hours=1))
    adapter = _tcp("inv_adapter", collector_id="garage")
    assert Owners.load(NOW).owner_of(adapter) == "garage"


def test_a_serial_adapter_belongs_to_the_collector_that_has_its_port() -> None:
    _collector("house", ports=["/dev/ttyUSB0"])
    _collector("garage", ports=["/dev/serial/by-id/usb-FTDI_A1"])
    owners = Owners.load(NOW)
    assert owners.owner_of(_serial("a", "/dev/serial/by-id/usb-FTDI_A1")) == "garage"
    # No collector has this port, and two are up: nobody polls it until it is assigned.
    assert owners.owner_of(_serial("b", "/dev/ttyUSB7")) is None
    assert owners.owner_of(_tcp("c")) is None


def test_without_assignments_the_only_running_collector_polls_everything() -> None:
    _collector("old-name", beat=NOW - timedelta(days=3))  # the host was renamed
    _collector("pi")
    owners = Owners.load(NOW)
    assert owners.owner_of(_tcp("a")) == "pi"
    assert owners.owner_of(_serial("b", "/dev/ttyUSB0")) == "pi"


def test_before_any_worker_registered_the_local_collector_owns_everything() -> None:
    assert Owners.load(NOW, local="this-host").owner_of(_tcp("a")) == "this-host"


def test_a_second_collector_joining_takes_nothing_from_the_first() -> None:
    now = datetime.now(UTC)
    collector_register("house", host="house", ports=[], now=now)
    tcp, serial = _tcp("a"), _serial("b", "/dev/ttyUSB0")
    collector_register("garage", host="garage", ports=["/dev/ttyUSB0"], now=now)
    owners = Owners.load(now)
    tcp.refresh_from_db()
    serial.refresh_from_db()
    assert (tcp.collector_id, serial.collector_id) == ("house", "house")
    assert owners.owner_of(tcp) == owners.owner_of(serial) == "house"


def test_naming_an_unknown_collector_registers_it_as_never_seen() -> None:
    adapter = _tcp("a", collector_id="pi-garage")
    row = m.Collector.objects.get(pk="pi-garage")
    assert adapter.collector_id == "pi-garage" and row.last_heartbeat is None
    with pytest.raises(ValidationError) as caught:
        _tcp("b", collector_id="not a name!")
    assert "collector" in caught.value.message_dict


@pytest.mark.parametrize("seconds", [1e308, -5.0, 0.0, float("nan"), float("inf"), 3601.0])
def test_poll_intervals_outside_the_bounds_are_rejected(seconds: float) -> None:
    with pytest.raises(ValidationError) as caught:
        _tcp("a", poll_interval_s=seconds)
    assert list(caught.value.message_dict) == ["poll_interval_s"]
    assert not m.Adapter.objects.exists()


def test_a_timeout_that_is_not_a_finite_number_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        f.adapter("a", "powdrive", {"transport": "tcp", "host": "192.0.2.1", "timeout": float("nan")})
    assert "timeout: must be a finite number" in caught.value.message_dict["config_json"]


def test_an_interval_stored_before_the_bounds_cannot_stall_the_schedule() -> None:
    adapter = _tcp("a")
    m.Adapter.objects.filter(pk="a").update(poll_interval_s=1e308)
    adapter.refresh_from_db()
    assert adapter.effective_poll_interval() == 3600.0


# ---- API -----------------------------------------------------------------------------------
@pytest.fixture
def staff_api() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("staff", is_staff=True))
    return client


@pytest.mark.parametrize("seconds", [1e308, -5, 0])
def test_the_api_rejects_bad_poll_intervals_with_a_field_error(staff_api: APIClient, seconds: float) -> None:
    response = staff_api.post("/api/adapters/", {"adapter_id": "a", "adapter_type": "powdrive",
                                                 "config_json": {"transport": "tcp", "host": "192.0.2.1"},
                                                 "poll_interval_s": seconds}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["poll_interval_s"]


@pytest.mark.parametrize("timeout", [1e308, -5, 0])
def test_the_api_rejects_bad_timeouts_with_a_field_error(staff_api: APIClient, timeout: float) -> None:
    config = {"transport": "tcp", "host": "192.0.2.1", "timeout": timeout}
    response = staff_api.post("/api/adapters/", {"adapter_id": "a", "adapter_type": "powdrive",
                                                 "config_json": config}, format="json")
    assert response.status_code == 400
    assert [p.split(":")[0] for p in response.json()["config_json"]] == ["timeout"]


def test_the_api_assigns_adapters_and_lists_collectors_with_their_state(staff_api: APIClient) -> None:
    collector_register("house", host="house", ports=["/dev/ttyUSB0"], now=datetime.now(UTC))
    _tcp("a")
    response = staff_api.patch("/api/adapters/a/", {"collector": "garage"}, format="json")
    assert response.status_code == 200 and response.json()["collector"] == "garage"
    body = {c["name"]: c for c in staff_api.get("/api/collectors/").json()["results"]}
    assert (body["house"]["state"], body["garage"]["state"]) == ("up", "down")
    assert body["garage"]["adapter_ids"] == ["a"] and body["house"]["ports"] == ["/dev/ttyUSB0"]
    assert staff_api.get("/api/adapters/?collector=garage").json()["count"] == 1
    assert staff_api.patch("/api/adapters/a/", {"collector": None}, format="json").json()["collector"] is None


def test_the_admin_edits_an_adapters_collector(client: Client) -> None:
    client.force_login(User.objects.create_superuser("boss", password="pw-for-tests-only"))
    _collector("garage")
    adapter = _tcp("a")
    form = {"adapter_id": "a", "adapter_type": "powdrive", "config_json": '{"transport": "tcp", '
            '"host": "192.0.2.1"}', "device_category": "inverter", "priority": "1", "enabled": "on",
            "poll_interval_s": "", "collector": "garage"}
    response = client.post(f"/admin/catalog/adapter/{adapter.pk}/change/", form)
    assert response.status_code == 302
    adapter.refresh_from_db()
    assert adapter.collector_id == "garage"
    page = client.get("/admin/catalog/collector/garage/change/").content.decode()
    assert "/admin/catalog/adapter/a/change/" in page  # listed among the collector's adapters
    form["poll_interval_s"] = "1e308"
    assert "poll_interval_s" in client.post(f"/admin/catalog/adapter/{adapter.pk}/change/", form).context[
        "adminform"].form.errors


def test_saving_a_collector_through_the_service_validates_its_name() -> None:
    with pytest.raises(ValidationError):
        save_entity(m.Collector(name="bad name"))


def test_the_adapter_schema_bounds_a_configs_own_interval_alike() -> None:
    from adapters.registry import ADAPTER_TYPES
    from catalog.constants import POLL_INTERVAL_MAX_S, POLL_INTERVAL_MIN_S

    for spec in ADAPTER_TYPES.values():
        bounds = spec.config_schema["properties"]["poll_interval_s"]
        assert (bounds["minimum"], bounds["maximum"]) == (POLL_INTERVAL_MIN_S, POLL_INTERVAL_MAX_S)


def test_a_routine_heartbeat_leaves_the_catalog_snapshot_alone_and_a_change_does_not(settings: Any) -> None:
    """Workers keep their devices and system trees while the catalog's fingerprint holds: a beat
    every 15 s must not change it, while a new port, a restart after a shutdown or a return
    after being down must (who owns what may have changed)."""
    from catalog.collectors import collector_heartbeat
    from catalog.selectors import fingerprint
    from telemetry.snapshot import CATALOG_PARTS

    settings.SOLARMON_COLLECTOR_HEARTBEAT_S, settings.SOLARMON_COLLECTOR_DOWN_AFTER_S = 15, 60
    collector_register("pi", host="pi", ports=["/dev/ttyUSB0"], now=NOW)
    mark = fingerprint("", CATALOG_PARTS)
    for beat in (15, 30, 45):
        assert collector_heartbeat("pi", ports=["/dev/ttyUSB0"], now=NOW + timedelta(seconds=beat))
    assert fingerprint("", CATALOG_PARTS) == mark
    row = m.Collector.objects.get(pk="pi")
    assert row.last_heartbeat == NOW + timedelta(seconds=45)
    assert collector_state(row, NOW + timedelta(seconds=100)) == "up"  # the beats still count

    collector_heartbeat("pi", ports=["/dev/ttyUSB0", "/dev/ttyUSB1"], now=NOW + timedelta(seconds=60))
    assert fingerprint("", CATALOG_PARTS) != mark
    assert m.Collector.objects.get(pk="pi").ports == ["/dev/ttyUSB0", "/dev/ttyUSB1"]

    mark = fingerprint("", CATALOG_PARTS)
    collector_heartbeat("pi", ports=["/dev/ttyUSB0", "/dev/ttyUSB1"], now=NOW + timedelta(seconds=200))
    assert fingerprint("", CATALOG_PARTS) != mark  # back after 140 s without a beat: it was down

    collector_stopped("pi", NOW + timedelta(seconds=210))
    mark = fingerprint("", CATALOG_PARTS)
    collector_heartbeat("pi", ports=["/dev/ttyUSB0", "/dev/ttyUSB1"], now=NOW + timedelta(seconds=215))
    assert fingerprint("", CATALOG_PARTS) != mark
    row = m.Collector.objects.get(pk="pi")
    assert row.stopped_at is None and collector_state(row, NOW + timedelta(seconds=216)) == "up"
    assert not collector_heartbeat("gone", ports=[], now=NOW)
