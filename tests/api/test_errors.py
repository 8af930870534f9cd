"""Errors: the model's rules come back as 400s naming the field, unknown ids as 404, and no input is a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db.models.signals import pre_save
from rest_framework.test import APIClient

from catalog import models as m
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _post(api: APIClient, url: str, payload: Any) -> Any:
    return api.post(url, payload, format="json")


# ---- the model's validation, reported by field ------------------------------------------
def test_an_inverter_whose_system_is_not_its_arrays_is_refused(staff_api: APIClient, catalog: Any) -> None:
    f.system("other")
    response = _post(staff_api, "/api/inverters/", {"inverter_id": "x1", "array_id": "array1",
                                                    "system_id": "other", "name": "X"})
    assert response.status_code == 400
    assert "array's system" in response.json()["system_id"][0]
    assert not m.Inverter.objects.filter(pk="x1").exists()


def test_a_cell_whose_pack_is_not_its_batterys_is_refused(staff_api: APIClient, catalog: Any) -> None:
    response = _post(staff_api, "/api/cells/", {"cell_id": "c", "battery_id": "battery1_b0",
                                                "pack_id": "jkbms_bank_ble", "cell_index": 50})
    assert response.status_code == 400
    assert set(response.json()) == {"pack_id"}  # battery_array_id was left out: filled, not wrong


def test_an_adapter_config_is_checked_against_its_types_schema(staff_api: APIClient, catalog: Any) -> None:
    response = _post(staff_api, "/api/adapters/", {"adapter_id": "rtu1", "adapter_type": "powdrive",
                                                   "config_json": {"transport": "rtu"}})
    assert response.status_code == 400
    assert "serial_port" in " ".join(response.json()["config_json"])
    response = _post(staff_api, "/api/adapters/", {"adapter_id": "rtu1", "adapter_type": "powdrive",
                                                   "config_json": {"transport": "rtu", "baudrate": "fast"}})
    assert response.status_code == 400 and "config_json" in response.json()


def test_an_unknown_adapter_type_is_refused(staff_api: APIClient, catalog: Any) -> None:
    response = _post(staff_api, "/api/adapters/", {"adapter_id": "a", "adapter_type": "toaster",
                                                   "config_json": {}})
    assert response.status_code == 400
    assert "toaster" in response.json()["adapter_type"][0]


def test_a_meter_adapter_cannot_drive_an_inverter(staff_api: APIClient, catalog: Any) -> None:
    response = staff_api.patch("/api/inverters/powdrive2/", {"adapter_id": "grid_meter_adapter"},
                               format="json")
    assert response.status_code == 400
    assert "meter adapter" in response.json()["adapter_id"][0]


def test_a_second_active_attachment_is_refused(staff_api: APIClient, catalog: Any) -> None:
    response = _post(staff_api, "/api/attachments/", {"battery_array_id": "battery_array1",
                                                      "inverter_array_id": "array1",
                                                      "attached_since": "2025-06-01T00:00:00Z"})
    assert response.status_code == 400
    assert "already has an active attachment" in " ".join(response.json()["non_field_errors"])
    assert m.BatteryArrayAttachment.objects.filter(detached_at__isnull=True).count() == 2


def test_detaching_then_attaching_anew_works(staff_api: APIClient, catalog: Any) -> None:
    current = m.BatteryArrayAttachment.objects.get(battery_array="battery_array1", detached_at__isnull=True)
    detached = staff_api.patch(f"/api/attachments/{current.pk}/", {"detached_at": "2025-06-01T00:00:00Z"},
                               format="json")
    assert detached.status_code == 200
    moved = _post(staff_api, "/api/attachments/", {"battery_array_id": "battery_array1",
                                                   "inverter_array_id": "array1",
                                                   "attached_since": "2025-06-02T00:00:00Z"})
    assert moved.status_code == 201, moved.content


def test_duplicate_ids_unknown_parents_and_bad_timezones_name_their_field(staff_api: APIClient,
                                                                           catalog: Any) -> None:
    duplicate = _post(staff_api, "/api/systems/", {"system_id": "system", "name": "again"})
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["system_id"][0]
    orphan = _post(staff_api, "/api/arrays/", {"array_id": "a9", "system_id": "nowhere", "name": "A"})
    assert orphan.status_code == 400 and "array_id" not in orphan.json() and "system_id" in orphan.json()
    zone = _post(staff_api, "/api/systems/", {"system_id": "s2", "name": "S", "timezone": "Mars/Olympus"})
    assert zone.status_code == 400 and "timezone" in zone.json()
    bad_id = _post(staff_api, "/api/systems/", {"system_id": "has space", "name": "S"})
    assert bad_id.status_code == 400 and "system_id" in bad_id.json()


def test_ids_cannot_be_changed(staff_api: APIClient, catalog: Any) -> None:
    response = staff_api.patch("/api/systems/system/", {"system_id": "renamed"}, format="json")
    assert response.status_code == 400 and "system_id" in response.json()
    assert m.System.objects.filter(pk="system").exists()
    assert not m.System.objects.filter(pk="renamed").exists()


# ---- unknown ids ----------------------------------------------------------------------------
@pytest.mark.parametrize("junk", ["nope", "%F0%9F%94%A5", "%E2%80%AE%00", "%00", "a" * 500, "%C3%A9t%C3%A9",
                                  "..", "%FF%FE", "x%2Fy"])
def test_unknown_or_garbled_ids_are_404(staff_api: APIClient, catalog: Any, junk: str) -> None:
    for url in (f"/api/systems/{junk}/", f"/api/inverters/{junk}/", f"/api/systems/{junk}/hierarchy/"):
        assert staff_api.get(url).status_code == 404, url
    assert staff_api.patch(f"/api/cells/{junk}/", {"cell_index": 1}, format="json").status_code == 404
    assert staff_api.delete(f"/api/meters/{junk}/").status_code == 404
    assert staff_api.get(f"/api/pack-adapters/{junk}/").status_code == 404


# ---- malformed input ------------------------------------------------------------------------
@pytest.mark.parametrize("body", ["{", "[1, 2", "{'single': 'quotes'}", "\xff\xfe", "NaN", "{\"a\": NaN}"])
def test_malformed_json_is_400(staff_api: APIClient, catalog: Any, body: str) -> None:
    response = staff_api.post("/api/systems/", body.encode("latin-1"), content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize("body", [[], [{"system_id": "s"}], "system", 42, None, True])
def test_a_body_that_is_not_an_object_is_400(staff_api: APIClient, catalog: Any, body: Any) -> None:
    response = staff_api.post("/api/systems/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(("url", "payload", "field"), [
    ("/api/systems/", {"system_id": "s", "name": {"nested": 1}}, "name"),
    ("/api/systems/", {"system_id": ["s"], "name": "S"}, "system_id"),
    ("/api/batteries/", {"battery_id": "b", "pack_id": "battery1", "battery_index": "first"},
     "battery_index"),
    ("/api/batteries/", {"battery_id": "b", "pack_id": "battery1", "battery_index": 10**30},
     "battery_index"),
    ("/api/inverters/", {"inverter_id": "i", "array_id": "array1", "name": "I", "rated_power_w": "NaN"},
     "rated_power_w"),
    ("/api/inverters/", {"inverter_id": "i", "array_id": {"id": 1}, "name": "I"}, "array_id"),
    ("/api/inverters/", {"inverter_id": "i", "array_id": "array1", "name": "I", "phase_type": "two"},
     "phase_type"),
    ("/api/pack-adapters/", {"pack_id": "battery1", "adapter_id": "battery1_pytes", "priority": 2**63},
     "priority"),
    ("/api/adapters/", {"adapter_id": "a", "adapter_type": "pytes", "config_json": "not an object"},
     "config_json"),
    ("/api/systems/", {"system_id": "s\u0000x", "name": "S"}, "system_id"),
    ("/api/systems/", {"system_id": "s", "name": "\ud800"}, "name"),
])
def test_wrong_types_are_400_naming_the_field(staff_api: APIClient, catalog: Any, url: str,
                                              payload: dict[str, Any], field: str) -> None:
    body = json.dumps(payload, allow_nan=True)
    response = staff_api.post(url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()


MALFORMED_DATES = ["2024-13-45T00:00:00Z", "yesterday", "0000-01-01T00:00:00Z", "2024-01-01T25:00"]
# Well-formed, but the time does not exist in UTC (before year 1, after year 9999).
UNREPRESENTABLE_DATES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


@pytest.mark.parametrize("when", ["", *MALFORMED_DATES, *UNREPRESENTABLE_DATES])
def test_bad_dates_in_a_body_are_400(staff_api: APIClient, catalog: Any, when: str) -> None:
    response = _post(staff_api, "/api/attachments/", {"battery_array_id": "battery_array1",
                                                      "inverter_array_id": "array2", "attached_since": when,
                                                      "detached_at": "2025-01-01T00:00:00Z"})
    assert response.status_code == 400
    assert "attached_since" in response.json()


@pytest.mark.parametrize("when", MALFORMED_DATES)
def test_malformed_dates_in_a_filter_are_400(staff_api: APIClient, catalog: Any, when: str) -> None:
    response = staff_api.get("/api/attachments/", {"attached_after": when})
    assert response.status_code == 400
    assert "attached_after" in response.json()


@pytest.mark.parametrize("when", UNREPRESENTABLE_DATES)
def test_extreme_dates_in_a_filter_are_answered(staff_api: APIClient, catalog: Any, when: str) -> None:
    # PostgreSQL compares them (an empty or full list); SQLite's UTC conversion refuses them (400).
    response = staff_api.get("/api/attachments/", {"attached_after": when})
    assert response.status_code in (200, 400)


def test_an_infinite_number_is_400_naming_the_field(staff_api: APIClient, catalog: Any) -> None:
    body = '{"inverter_id": "i", "array_id": "array1", "name": "I", "rated_power_w": 1e400}'
    response = staff_api.post("/api/inverters/", body, content_type="application/json")
    assert response.status_code == 400
    assert "rated_power_w" in response.json()


def test_deeply_nested_json_is_400(staff_api: APIClient, catalog: Any) -> None:
    for depth in (40, 100_000):
        nested = "[" * depth + "]" * depth
        body = '{"adapter_id": "a", "adapter_type": "pytes", "config_json": ' + nested + "}"
        response = staff_api.post("/api/adapters/", body, content_type="application/json")
        assert response.status_code == 400
        assert "nested" in response.json()["detail"]


def test_a_body_over_the_upload_limit_is_413(staff_api: APIClient, catalog: Any, settings: Any) -> None:
    blob = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    payload = {"system_id": "s", "name": "S", "description": blob}
    as_json = staff_api.post("/api/systems/", json.dumps(payload), content_type="application/json")
    assert as_json.status_code == 413
    as_form = staff_api.post("/api/systems/", payload)
    assert as_form.status_code == 413
    assert not m.System.objects.filter(pk="s").exists()


def test_an_unsupported_content_type_is_415(staff_api: APIClient, catalog: Any) -> None:
    response = staff_api.post("/api/systems/", "system_id=s", content_type="text/plain")
    assert response.status_code == 415


@pytest.mark.parametrize("query", [{"limit": "9" * 40}, {"offset": "9" * 40}, {"offset": "-5"},
                                   {"limit": "0"}, {"ordering": "password"}, {"ordering": "-\u0000"},
                                   {"system_id": "\u202e"}, {"search": "\U0001f525"}])
def test_odd_query_strings_still_give_a_list(staff_api: APIClient, catalog: Any,
                                             query: dict[str, str]) -> None:
    response = staff_api.get("/api/inverters/", query)
    assert response.status_code == 200
    assert "results" in response.json()


@pytest.mark.parametrize("query", [{"phase_type": "two"}, {"system_id": "\u0000"}, {"search": "a\u0000"},
                                   {"attached_after": "2024-02-30T00:00:00Z"}])
def test_invalid_filter_values_are_400(staff_api: APIClient, catalog: Any, query: dict[str, str]) -> None:
    url = "/api/attachments/" if "attached_after" in query else "/api/inverters/"
    response = staff_api.get(url, query)
    assert response.status_code == 400
    assert list(response.json()) == list(query)  # the body names the parameter at fault


# ---- races ------------------------------------------------------------------------------------
def test_a_write_that_loses_a_race_to_the_database_constraint_is_409(staff_api: APIClient,
                                                                     catalog: Any) -> None:
    """Another writer attaches the battery array between our validation and our insert."""

    def competing_writer(sender: Any, instance: m.BatteryArrayAttachment, **kwargs: Any) -> None:
        pre_save.disconnect(competing_writer, sender=m.BatteryArrayAttachment)
        m.BatteryArrayAttachment.objects.create(battery_array_id="battery_array1",
                                                inverter_array_id="array2",
                                                attached_since="2025-03-01T00:00:00Z")

    m.BatteryArrayAttachment.objects.filter(detached_at__isnull=True).update(detached_at="2025-02-01T00:00:00Z")
    pre_save.connect(competing_writer, sender=m.BatteryArrayAttachment)
    try:
        response = _post(staff_api, "/api/attachments/", {"battery_array_id": "battery_array1",
                                                          "inverter_array_id": "array1",
                                                          "attached_since": "2025-03-02T00:00:00Z"})
    finally:
        pre_save.disconnect(competing_writer, sender=m.BatteryArrayAttachment)
    assert response.status_code == 409
    assert "detail" in response.json()
