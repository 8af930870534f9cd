"""The rollup endpoints: authenticated, read-only, filtered by local date range."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from aggregation.rollups import rollup_day
from tests.aggregation.helpers import insert, steady_inverter

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

LEVELS = ["inverters", "arrays", "systems", "packs", "meters"]


@pytest.fixture
def client(site: dict[str, Any], django_user_model: Any) -> APIClient:
    start = datetime(2025, 6, 10, 10, tzinfo=ZoneInfo("Asia/Karachi"))
    end = start + timedelta(minutes=59, seconds=50)
    insert(steady_inverter(site["inverter"], start, end, pv_power_w=2000))
    for day in (date(2025, 6, 10), date(2025, 6, 11)):
        rollup_day("system", day)
    api = APIClient()
    api.force_login(django_user_model.objects.create_user("viewer", password="x"))
    return api


def test_anonymous_users_get_nothing(db: Any) -> None:
    for level in LEVELS:
        for period in ("hourly", "daily"):
            assert APIClient().get(f"/api/energy/{level}/{period}/").status_code in (401, 403)


def test_hourly_rows_of_a_date_range(client: APIClient) -> None:
    body = client.get("/api/energy/inverters/hourly/?from=2025-06-10&to=2025-06-10&inverter_id=inv1").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["inverter_id"], row["date"], row["hour_start"]) == ("inv1", "2025-06-10", 10)
    assert row["solar_energy_kwh"] == pytest.approx(2.0 * 3590 / 3600)  # samples end 10 s before 11:00
    assert row["source"] == "integrated" and row["coverage"] == pytest.approx(3590 / 3600)
    assert client.get("/api/energy/systems/daily/?from=2025-06-11").json()["count"] == 0
    assert client.get("/api/energy/systems/daily/?to=2025-06-10").json()["count"] == 1


@pytest.mark.parametrize("query", ["from=2025-13-01", "to=yesterday", "from=2025-06-11&to=2025-06-10",
                                   "from=99999-01-01"])
def test_bad_dates_are_a_400(client: APIClient, query: str) -> None:
    for level in LEVELS:
        assert client.get(f"/api/energy/{level}/daily/?{query}").status_code == 400


def test_rollups_cannot_be_written(client: APIClient) -> None:
    assert client.post("/api/energy/systems/daily/", {}).status_code in (403, 405)
