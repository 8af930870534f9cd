"""The MQTT settings in the API and the admin: the password goes in, never out."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from integrations.models import MqttSettings
from integrations.mqtt.config import effective_config

pytestmark = pytest.mark.django_db
URL = "/api/integrations/mqtt/"
SECRET = "s3cret-Pa55"


def test_the_password_is_stored_but_never_shown_back(admin_client: Client, caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    caplog.set_level(logging.DEBUG)
    answer = admin_client.patch(URL, {"enabled": True, "broker_url": "mqtt://192.0.2.5:1883",
                                      "username": "ha", "password": SECRET},
                                content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert SECRET not in answer.content.decode()
    assert answer.json()["password_set"] is True
    assert MqttSettings.current().password == SECRET
    shown = admin_client.get(URL)
    assert SECRET not in shown.content.decode() and shown.json()["effective"]["broker"] == "mqtt://192.0.2.5:1883"
    # Saving without a password keeps it; clear_password removes it.
    admin_client.patch(URL, {"username": "ha2"}, content_type="application/json")
    assert MqttSettings.current().password == SECRET
    admin_client.patch(URL, {"clear_password": True}, content_type="application/json")
    assert MqttSettings.current().password == ""
    page = admin_client.get("/admin/integrations/mqttsettings/1/change/")
    assert page.status_code == 200 and SECRET not in page.content.decode()
    assert SECRET not in caplog.text
    assert SECRET not in repr(effective_config())


def test_bad_settings_are_refused_with_the_field_named(admin_client: Client) -> None:
    answer = admin_client.patch(URL, {"enabled": True, "broker_url": "http://x"},
                                content_type="application/json")
    assert answer.status_code == 400 and "broker_url" in answer.content.decode()
    answer = admin_client.patch(URL, {"base_topic": "solar/#"}, content_type="application/json")
    assert answer.status_code == 400 and "base_topic" in answer.content.decode()
    assert not MqttSettings.objects.filter(base_topic="solar/#").exists()


@override_settings(SOLARMON_MQTT_URL="mqtts://bob:p%40ss@broker.example:8884",
                   SOLARMON_MQTT_BASE_TOPIC="site/solar")
def test_the_environment_overrides_the_stored_settings_and_says_so(admin_client: Client) -> None:
    MqttSettings(enabled=False, broker_url="mqtt://192.0.2.5", base_topic="stored").save()
    data = admin_client.get(URL).json()
    assert data["overridden"] == {"broker_url": "SOLARMON_MQTT_URL", "base_topic": "SOLARMON_MQTT_BASE_TOPIC"}
    assert data["effective"] == {"enabled": True, "broker": "mqtts://broker.example:8884",
                                 "base_topic": "site/solar", "discovery_prefix": "homeassistant",
                                 "username_set": True}
    assert "p@ss" not in str(data)
    cfg = effective_config()
    assert (cfg.username, cfg.password, cfg.port) == ("bob", "p@ss", 8884)


def test_only_staff_change_the_settings_and_anonymous_users_see_nothing(client: Client) -> None:
    assert client.get(URL).status_code in (401, 403)
    client.force_login(User.objects.create_user("viewer"))
    assert client.get(URL).status_code == 200
    assert client.patch(URL, {"enabled": True}, content_type="application/json").status_code == 403
    assert client.get("/api/integrations/mqtt/clients/").status_code == 200
