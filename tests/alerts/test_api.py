"""The alert API: alerts active first, filters, acknowledge; rules; channels with a write-only URL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.kinds.base import Finding, Observation
from alerts.models import Alert, AlertRule, AlertWatch
from alerts.services import alert_clear, alert_raise
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

SECRET = "tk_very-secret-token"


def client_for(user: User | None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


@pytest.fixture
def reader() -> APIClient:
    return client_for(User.objects.create_user("reader"))


@pytest.fixture
def staff() -> APIClient:
    return client_for(User.objects.create_user("staff", is_staff=True))


@pytest.fixture
def alerts() -> dict[str, Alert]:
    """An old cleared spread alert on pack1, and active offline and SOC alerts."""
    f.system("system")
    now = timezone.now()

    def raised(key: str, kind: str, device: str, values: dict[str, Any], ago_s: int) -> Alert:
        alert = alert_raise(AlertRule.objects.get(key=key), Finding(kind, device, "system", Observation(
            True, False, values)), now - timedelta(seconds=ago_s), None)
        assert alert is not None
        return alert

    old = raised("cell-spread", "battery_pack", "pack1", {"spread_mv": 70.0}, 7200)
    alert_clear(AlertWatch.objects.get(alert=old), {"spread_mv": 12.0}, now - timedelta(seconds=3600))
    return {"cleared": old,
            "offline": raised("offline-inverter", "inverter", "inv1", {"state": "offline"}, 600),
            "soc": raised("soc-low", "battery_pack", "pack1", {"soc": 12.0}, 60)}


def test_alerts_are_listed_active_first_with_the_values_that_raised_them(reader: APIClient,
                                                                          alerts: dict[str, Alert]) -> None:
    rows = reader.get("/api/alerts/").json()["results"]
    assert [r["id"] for r in rows] == [alerts["soc"].pk, alerts["offline"].pk, alerts["cleared"].pk]
    cleared = rows[2]
    assert cleared["state"] == "cleared" and cleared["cleared_at"]
    assert cleared["values"] == {"spread_mv": 70.0}
    assert cleared["clear_values"] == {"spread_mv": 12.0} and cleared["rule"] == alerts["cleared"].rule_id
    assert rows[0]["device_id"] == "pack1" and rows[0]["state"] == "active" and rows[0]["cleared_at"] is None


@pytest.mark.parametrize(("query", "expected"), [
    ("state=active", ["soc", "offline"]), ("state=cleared", ["cleared"]),
    ("device_id=pack1", ["soc", "cleared"]),
    ("kind=device_offline", ["offline"]), ("severity=critical", ["offline"]),
])
def test_alerts_can_be_filtered_by_state_device_and_rule(reader: APIClient, alerts: dict[str, Alert],
                                                         query: str, expected: list[str]) -> None:
    ids = [r["id"] for r in reader.get(f"/api/alerts/?{query}").json()["results"]]
    assert ids == [alerts[name].pk for name in expected]
    by_rule = reader.get(f"/api/alerts/?rule={alerts['offline'].rule_id}").json()["results"]
    assert [r["id"] for r in by_rule] == [alerts["offline"].pk]


def test_any_logged_in_user_can_acknowledge_once_and_anonymous_users_cannot(
        reader: APIClient, alerts: dict[str, Alert]) -> None:
    url = f"/api/alerts/{alerts['offline'].pk}/acknowledge/"
    assert client_for(None).post(url).status_code in (401, 403)
    first = reader.post(url).json()
    assert first["acknowledged_by"] == "reader" and first["acknowledged_at"]
    assert reader.post(url).json()["acknowledged_at"] == first["acknowledged_at"]
    assert reader.get("/api/alerts/?acknowledged=true").json()["count"] == 1
    assert reader.post("/api/alerts/", {}, format="json").status_code == 403


def test_a_rule_with_missing_or_crossed_limits_is_refused_naming_the_field(staff: APIClient) -> None:
    missing = staff.post("/api/alert-rules/", {"name": "spread", "kind": "cell_spread"}, format="json")
    assert missing.status_code == 400 and "high" in missing.json()
    crossed = staff.post("/api/alert-rules/", {"name": "cells", "kind": "cell_voltage", "low": 3.6,
                                               "high": 2.9}, format="json")
    assert crossed.status_code == 400 and "high" in crossed.json()
    wrong = staff.post("/api/alert-rules/", {"name": "x", "kind": "cell_spread", "high": 40,
                                             "device_kind": "meter"}, format="json")
    assert wrong.status_code == 400 and "device_kind" in wrong.json()
    made = staff.post("/api/alert-rules/", {"name": "pack1 spread", "kind": "cell_spread", "high": 40,
                                            "device_id": "pack1"}, format="json")
    assert made.status_code == 201 and made.json()["unit"] == "mV" and made.json()["key"] is None
    assert staff.delete(f"/api/alert-rules/{made.json()['id']}/").status_code == 204


def test_default_rules_exist_with_the_settings_limits_and_cannot_be_deleted(staff: APIClient) -> None:
    rules = {r["key"]: r for r in staff.get("/api/alert-rules/?limit=100").json()["results"]}
    assert rules["offline-inverter"]["raise_after_s"] == 600 and rules["cell-spread"]["high"] == 50.0
    assert rules["charge-temperature"]["low"] == 0.0 and rules["battery-temperature"]["high"] == 50.0
    refused = staff.delete(f"/api/alert-rules/{rules['cell-spread']['id']}/")
    assert refused.status_code == 400 and "disable" in str(refused.json())
    assert staff.patch(f"/api/alert-rules/{rules['cell-spread']['id']}/", {"enabled": False},
                       format="json").json()["enabled"] is False


def test_a_channel_url_is_write_only_and_kept_when_an_update_leaves_it_out(staff: APIClient) -> None:
    made = staff.post("/api/notification-channels/",
                      {"name": "phone", "url": f"ntfys://{SECRET}@ntfy.sh/solar"}, format="json")
    assert made.status_code == 201, made.json()
    assert SECRET not in made.content.decode() and made.json()["url_display"] == "ntfys://ntfy.sh/…"
    url = f"/api/notification-channels/{made.json()['id']}/"
    assert staff.patch(url, {"name": "my phone", "url": ""}, format="json").status_code == 200
    assert SECRET not in staff.get(url).content.decode()
    from integrations.models import NotificationChannel

    assert NotificationChannel.objects.get().url == f"ntfys://{SECRET}@ntfy.sh/solar"
    bad = staff.post("/api/notification-channels/", {"name": "x", "url": "nonsense"}, format="json")
    assert bad.status_code == 400 and "url" in bad.json()
