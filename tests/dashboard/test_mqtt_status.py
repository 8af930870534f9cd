"""The overview tells staff how MQTT publishing fares: connected, published, dropped, last error."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from integrations.models import MqttClientStatus, MqttSettings
from tests import factories as f
from tests.dashboard.conftest import screenshot


def _client_row(client_id: str, **fields: Any) -> MqttClientStatus:
    now = timezone.now()
    values = {"host": "pi-house", "pid": 4242, "broker": "mqtt://192.0.2.5:1883", "connected": True,
              "published": 1200, "dropped": 0, "started_at": now - timedelta(hours=1), "updated_at": now,
              **fields}
    return MqttClientStatus.objects.create(client_id=client_id, **values)


def _publishing_to(url: str = "mqtt://192.0.2.5:1883") -> None:
    row = MqttSettings.current()
    row.enabled, row.broker_url = True, url
    row.save()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_staff_see_each_mqtt_client_and_its_dropped_messages_refreshed_in_place(page: Any) -> None:
    f.array("array1", f.system("system"))
    _publishing_to()
    refused = "cannot connect to mqtt://192.0.2.5:1883: connection refused"
    _client_row("solarmon-pi-house-4242", connected=False, dropped=17, last_error=refused,
                last_error_at=timezone.now() - timedelta(minutes=3))
    _client_row("solarmon-pi-old-99", updated_at=timezone.now() - timedelta(hours=2), published=5)
    page.goto("/?refresh=1")
    card = page.locator("#mqtt-card")
    assert "mqtt://192.0.2.5:1883" in card.locator("h2").inner_text()
    away = card.locator('tr[data-client="solarmon-pi-house-4242"]')
    assert away.locator('[data-field="connection"]').inner_text() == "not connected"
    assert away.locator('[data-field="dropped"]').inner_text() == "17"
    assert "connection refused" in away.locator('[data-field="last_error"]').inner_text()
    gone = card.locator('tr[data-client="solarmon-pi-old-99"]')
    assert gone.locator('[data-field="connection"]').inner_text() == "stopped"  # not reported for 2 h

    # The broker comes back; the counts move on, and the page follows without a reload.
    page.evaluate("window.stillTheSamePage = true")
    MqttClientStatus.objects.filter(pk="solarmon-pi-house-4242").update(
        connected=True, dropped=42, published=1300, updated_at=timezone.now())
    page.wait_for_function("""() => document.querySelector('#mqtt-clients '
        + 'tr[data-client="solarmon-pi-house-4242"] [data-field="dropped"]').textContent === "42" """)
    assert away.locator('[data-field="connection"]').inner_text() == "connected"
    assert away.locator('[data-field="published"]').inner_text() == "1300"
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, "overview-mqtt")


@pytest.mark.django_db
def test_the_mqtt_card_is_for_staff_and_only_when_mqtt_is_configured(client: Client) -> None:
    f.system("system")
    _client_row("solarmon-pi-house-4242", dropped=3)
    client.force_login(User.objects.create_user("installer", is_staff=True))
    assert b'id="mqtt-card"' not in client.get("/").content  # not configured: nothing to say
    _publishing_to()
    shown = client.get("/").content.decode()
    assert 'id="mqtt-card"' in shown and '<td class="num" data-field="dropped">3</td>' in shown
    client.force_login(User.objects.create_user("owner"))
    assert b'id="mqtt-card"' not in client.get("/").content
