"""Telemetry endpoints: device status, a system's live state, and downsampled series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from solarmon.demo import DemoRig
from telemetry import models as t
from telemetry.derive import derive_samples
from telemetry.polling import device_refs, poll_device, slot_for
from tests import factories as f

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def reader(db: None) -> APIClient:
    client = APIClient()
    user = User.objects.create_user("reader")
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


def _poll() -> datetime:
    slot = slot_for(timezone.now(), 5)
    for ref in device_refs():
        poll_device(ref, slot)
    derive_samples("system", slot)
    return slot


def test_anonymous_users_get_no_telemetry(client: APIClient, db: None) -> None:
    f.system()
    for url in ("/api/device-status/", "/api/systems/system/live/", "/api/series/system/system/"):
        assert APIClient().get(url).status_code in (401, 403), url


def test_device_status_lists_every_polled_device(installation: DemoRig, reader: APIClient) -> None:
    _poll()
    body = reader.get("/api/device-status/?system_id=system").json()
    states = {(row["device_type"], row["device_id"]): row["state"] for row in body["results"]}
    assert len(states) == 6 and set(states.values()) == {"online"}
    inverters = reader.get("/api/device-status/?device_type=inverter").json()["results"]
    assert {row["device_id"] for row in inverters} == {"powdrive1", "senergy1", "powdrive2"}


def test_live_state_matches_the_newest_system_sample(installation: DemoRig, reader: APIClient) -> None:
    _poll()
    body = reader.get("/api/systems/system/live/").json()
    sample = t.SystemSample.objects.get()
    assert body["live"] is True
    assert (body["pv_power_w"], body["grid_power_w"], body["grid_source"]) == (
        sample.pv_power_w, sample.grid_power_w, "meter")
    assert {a["array_id"] for a in body["arrays"]} == {"array1", "array2"}
    assert len(body["devices"]) == 6


def test_old_values_are_not_called_live(reader: APIClient) -> None:
    sys = f.system()
    f.array("array1", sys)
    t.SystemSample.objects.create(ts=timezone.now() - timedelta(minutes=10), system=sys, pv_power_w=1234)
    body = reader.get("/api/systems/system/live/").json()
    assert body["pv_power_w"] == 1234 and body["live"] is False and body["age_s"] >= 600


def test_a_long_range_comes_back_as_bounded_bucket_averages(reader: APIClient) -> None:
    sys = f.system()
    inverter = f.inverter("inv1", f.array("array1", sys))
    start = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [t.EnergySample(ts=start + timedelta(seconds=5 * i), inverter=inverter, array_id="array1",
                           system=sys, pv_power_w=i % 720, load_power_w=500) for i in range(2 * 720)]
    t.EnergySample.objects.bulk_create(rows)
    query = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T02:00:00Z", "points": "24"}
    body = reader.get("/api/series/inverter/inv1/", query).json()
    assert body["step_s"] == 300 and len(body["points"]) == 24
    first = body["points"][0]
    # The first 5-minute bucket averages samples 0..59: pv 0..59 → 29.5.
    assert first["samples"] == 60
    assert first["values"]["pv_power_w"] == pytest.approx(29.5)
    assert first["values"]["load_power_w"] == 500
    assert "pv_power_w" in body["columns"]


@pytest.mark.parametrize("query", [{"start": "yesterday"}, {"points": 0}, {"points": 10**9},
                                   {"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"}])
def test_bad_series_parameters_are_400s_naming_the_field(reader: APIClient,
                                                         query: dict[str, str | int]) -> None:
    f.inverter("inv1", f.array("array1", f.system()))
    response = reader.get("/api/series/inverter/inv1/", query)
    assert response.status_code == 400
    assert set(response.json()) & {"start", "end", "points"}


def test_unknown_series_or_device_is_404(reader: APIClient) -> None:
    f.system()
    assert reader.get("/api/series/toaster/system/").status_code == 404
    assert reader.get("/api/series/inverter/nope/").status_code == 404
