"""POST /api/adapters/{id}/test/ and /api/adapter-types/{type}/test/: a device read once, for staff."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests import factories as f
from tests.web.conftest import SIM_SERIAL

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(db: None) -> APIClient:
    api = APIClient()
    api.force_authenticate(User.objects.create_user("installer", is_staff=True))
    return api


def test_an_unsaved_config_is_tested_against_the_device(staff_api: APIClient,
                                                        powdrive_sim: tuple[Any, int]) -> None:
    config = {"transport": "tcp", "host": "127.0.0.1", "port": powdrive_sim[1]}
    response = staff_api.post("/api/adapter-types/powdrive/test/", {"config": config}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["error"] == ""
    assert body["identity"]["serial_number"] == SIM_SERIAL
    assert body["kind"] == "inverter"
    assert body["reading"]["grid_voltage_v"] > 100


def test_a_saved_adapter_is_tested_with_its_config_and_overrides(staff_api: APIClient,
                                                                 powdrive_sim: tuple[Any, int]) -> None:
    f.adapter("pd1", "powdrive", {"transport": "tcp", "host": "127.0.0.1", "port": 1})
    dead = staff_api.post("/api/adapters/pd1/test/", {}, format="json").json()
    assert dead["ok"] is False and dead["error"].startswith("powdrive at tcp 127.0.0.1:1")
    alive = staff_api.post("/api/adapters/pd1/test/", {"config": {"port": powdrive_sim[1]}}, format="json")
    assert alive.json()["ok"] is True


def test_a_bad_config_is_a_400_naming_the_keys(staff_api: APIClient) -> None:
    response = staff_api.post("/api/adapter-types/powdrive/test/",
                              {"config": {"transport": "rtu", "unit_id": 300}}, format="json")
    assert response.status_code == 400
    assert response.json()["config"] == {"serial_port": ["This field is required here."],
                                         "unit_id": ["300 is greater than the maximum of 247"]}


def test_owners_cannot_run_connection_tests(db: None) -> None:
    api = APIClient()
    api.force_authenticate(User.objects.create_user("owner"))
    response = api.post("/api/adapter-types/powdrive/test/", {"config": {}}, format="json")
    assert response.status_code == 403
    assert APIClient().post("/api/adapter-types/powdrive/test/", {}, format="json").status_code in (401, 403)


def test_the_api_exposes_the_schema_the_form_is_built_from(staff_api: APIClient) -> None:
    schema = staff_api.get("/api/adapter-types/powdrive/").json()["config_schema"]
    assert schema["properties"]["unit_id"]["title"] == "Modbus unit id"
    assert schema["properties"]["baudrate"]["x-transports"] == ["rtu"]
    ports = staff_api.get("/api/adapter-types/serial-ports/")
    assert ports.status_code == 200 and isinstance(ports.json(), list)
