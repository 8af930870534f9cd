"""What a dashboard or script polls (live state, device status): a query count that does not grow
with the number of devices, and a token check that stays one query while refusing what it must."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from catalog import models as m
from catalog.selectors import system_tree
from telemetry import models as t
from tests.api.volume import system_of

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

# The token with its user (solarmon.api.authentication).
AUTH_QUERIES = 1
# The catalog's fingerprint (the system tree held by the process), the statuses, the newest
# system sample, the array samples of that tick.
LIVE_QUERIES = 4
# The row count for the page, then the page.
STATUS_LIST_QUERIES = 2


def _with_ticks() -> None:
    now = timezone.now()
    t.SystemSample.objects.create(ts=now, system_id="site", pv_power_w=1500, grid_source="inverters")
    t.ArraySample.objects.create(ts=now, array_id="site_array", system_id="site", pv_power_w=1500)


@pytest.mark.parametrize("devices_per_kind", [1, 50])
def test_live_state_runs_the_same_number_of_queries_for_1_and_50_devices(
        staff_api: APIClient, django_assert_num_queries: Any, devices_per_kind: int) -> None:
    system_of(devices_per_kind)
    _with_ticks()
    system_tree("site")  # held by the process, as after any poll or earlier request
    with django_assert_num_queries(AUTH_QUERIES + LIVE_QUERIES):
        body = staff_api.get("/api/systems/site/live/").json()
    assert body["pv_power_w"] == 1500 and [a["array_id"] for a in body["arrays"]] == ["site_array"]
    assert len(body["devices"]) == 3 * devices_per_kind
    assert {d["state"] for d in body["devices"]} == {"online"}


@pytest.mark.parametrize("devices_per_kind", [1, 50])
def test_device_status_runs_the_same_number_of_queries_for_1_and_50_devices(
        staff_api: APIClient, django_assert_num_queries: Any, devices_per_kind: int) -> None:
    system_of(devices_per_kind)
    with django_assert_num_queries(AUTH_QUERIES + STATUS_LIST_QUERIES):
        body = staff_api.get("/api/device-status/").json()
    assert body["count"] == 3 * devices_per_kind


def test_live_state_lists_a_device_added_to_the_catalog_at_once(staff_api: APIClient) -> None:
    system_of(1)
    _with_ticks()
    assert {d["device_id"] for d in staff_api.get("/api/systems/site/live/").json()["devices"]} == {
        "inv0", "pack0", "meter0"}
    m.Inverter.objects.create(inverter_id="inv_new", array_id="site_array", system_id="site", name="new")
    devices = {d["device_id"]: d for d in staff_api.get("/api/systems/site/live/").json()["devices"]}
    assert devices["inv_new"]["state"] == "unknown" and devices["inv_new"]["last_seen"] is None


def test_live_state_of_an_unknown_system_is_404(staff_api: APIClient) -> None:
    system_of(1)
    assert staff_api.get("/api/systems/nowhere/live/").status_code == 404


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_the_token_check_is_one_query_however_many_tokens_the_user_holds(
        reader_user: User, django_assert_num_queries: Any) -> None:
    system_of(1)
    tokens = [AuthToken.objects.create(user=reader_user)[1] for _ in range(30)]
    with django_assert_num_queries(AUTH_QUERIES + STATUS_LIST_QUERIES):
        assert _client(tokens[17]).get("/api/device-status/").status_code == 200


def test_a_deleted_token_is_refused_at_the_next_request(reader_user: User) -> None:
    row, token = AuthToken.objects.create(user=reader_user)
    client = _client(token)
    assert client.get("/api/device-status/").status_code == 200
    row.delete()
    assert client.get("/api/device-status/").status_code in (401, 403)


def test_a_token_of_a_deactivated_user_is_refused(reader_user: User) -> None:
    client = _client(AuthToken.objects.create(user=reader_user)[1])
    assert client.get("/api/device-status/").status_code == 200
    User.objects.filter(pk=reader_user.pk).update(is_active=False)
    assert client.get("/api/device-status/").status_code in (401, 403)


def test_an_expired_token_is_refused_and_deleted(reader_user: User) -> None:
    row, token = AuthToken.objects.create(user=reader_user, expiry=timedelta(seconds=-1))
    assert _client(token).get("/api/device-status/").status_code in (401, 403)
    assert not AuthToken.objects.filter(pk=row.pk).exists()


def test_a_wrong_token_with_a_known_prefix_is_refused(reader_user: User) -> None:
    token = AuthToken.objects.create(user=reader_user)[1]
    forged = token[:8] + ("0" if token[8] != "0" else "1") + token[9:]
    assert _client(forged).get("/api/device-status/").status_code in (401, 403)
