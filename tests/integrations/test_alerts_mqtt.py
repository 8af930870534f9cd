"""Alerts in Home Assistant, on the real broker: a binary sensor per rule and device, an event topic."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import task_prerun
from django.test import Client
from django.utils import timezone

from alerts.kinds.base import Finding, Observation
from alerts.models import Alert, AlertRule, AlertWatch
from alerts.services import alert_clear, alert_raise
from catalog.collectors import collector_register
from integrations.models import MqttSettings
from integrations.mqtt import runtime
from integrations.mqtt.publisher import Publisher
from tests import factories as f
from tests.integrations.conftest import HaListener, start_publisher

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(90)]


def _raise(key: str, subject_type: str, subject_id: str) -> Alert:
    finding = Finding(subject_type, subject_id, "system", Observation(True, False, {"state": "offline"}))
    alert = alert_raise(AlertRule.objects.get(key=key), finding, timezone.now(), None)
    assert alert is not None
    return alert


def _clear(alert: Alert) -> None:
    alert_clear(AlertWatch.objects.get(alert=alert), {"state": "online"}, timezone.now())


def _changes(listener: HaListener, topic: str) -> list[bytes]:
    """The payloads seen on ``topic``, repeats of the same state collapsed."""
    seen: list[bytes] = []
    for _, t, payload in list(listener.history):
        if t == topic and (not seen or seen[-1] != payload):
            seen.append(payload)
    return seen


@pytest.fixture
def queued_tasks(eager: None) -> Iterator[list[tuple[str, Any]]]:
    """Tasks run (eagerly, in this process) while a test runs: (name, args)."""
    ran: list[tuple[str, Any]] = []

    def record(sender: Any = None, args: Any = None, **kwargs: Any) -> None:
        ran.append((sender.name, tuple(args or ())))

    task_prerun.connect(record, weak=False)
    yield ran
    task_prerun.disconnect(record)


@pytest.fixture
def eager() -> Iterator[None]:
    from solarmon.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def running_publisher(mqtt_settings: MqttSettings) -> Iterator[list[Publisher]]:
    """Starts (when the test says) a publisher that is this process's, as in a worker."""
    started: list[Publisher] = []
    yield started
    runtime._publisher, runtime._owner_pid = None, 0
    for publisher in started:
        publisher.stop()


def test_alerts_show_as_binary_sensors_on_their_devices_with_one_event_per_change(
        mqtt_settings: MqttSettings, listener: HaListener, running_publisher: list[Publisher],
        queued_tasks: list[tuple[str, Any]], admin_client: Client, mqtt_url: str) -> None:
    f.inverter("powdrive1", f.array("array1", f.system("system")))
    prefix, base = mqtt_settings.discovery_prefix, mqtt_settings.base_topic
    # Raised where no publisher runs (the web server): a worker is asked to publish it.
    offline = _raise("offline-inverter", "inverter", "powdrive1")
    assert queued_tasks == [("integrations.tasks.publish_alert_change", (offline.pk, "raised"))]

    publisher = start_publisher()
    running_publisher.append(publisher)
    runtime._publisher, runtime._owner_pid = publisher, os.getpid()
    inverter_topic = f"{prefix}/device/solarmon_inverter_powdrive1/config"
    listener.wait(lambda: "alert_offline_inverter" in (listener.json(inverter_topic) or {}).get("cmps", {}),
                  what="the inverter's alert sensor")
    inverter = listener.json(inverter_topic)
    sensor = inverter["cmps"]["alert_offline_inverter"]
    assert sensor["p"] == "binary_sensor" and sensor["device_class"] == "problem"
    assert sensor["unique_id"] == "solarmon_inverter_powdrive1_alert_offline_inverter"
    assert sensor["name"] == "Inverter offline"
    assert sensor["state_topic"] == f"{base}/inverter/powdrive1/alert/offline_inverter"
    # It follows solarmon, not the inverter: an offline inverter's alert must stay visible.
    assert sensor["availability"] == [{"topic": f"{base}/status"}]
    assert inverter["availability"][1]["topic"] == f"{base}/inverter/powdrive1/availability"
    # Active before this publisher started: shown ON from the start.
    listener.wait(lambda: listener.payload(sensor["state_topic"]) == b"ON", what="ON at start")

    system = listener.json(f"{prefix}/device/solarmon_system_system/config")
    grid = system["cmps"]["alert_grid_lost"]
    assert grid["unique_id"] == "solarmon_system_system_alert_grid_lost"
    assert system["cmps"]["alert_disk_space"]["state_topic"] == f"{base}/system/system/alert/disk_space"
    assert not [c for c in system["cmps"] if c.startswith("alert_collector_down")]  # one collector or none
    listener.wait(lambda: listener.payload(grid["state_topic"]) == b"OFF", what="grid sensor OFF")

    events = f"{base}/alerts/event"
    _clear(offline)
    listener.wait(lambda: listener.payload(sensor["state_topic"]) == b"OFF", what="offline cleared")
    lost = _raise("grid-lost", "system", "system")
    listener.wait(lambda: listener.payload(grid["state_topic"]) == b"ON", what="grid lost ON")
    assert admin_client.post(f"/api/alerts/{lost.pk}/acknowledge/").status_code == 200
    _clear(lost)
    listener.wait(lambda: listener.payload(grid["state_topic"]) == b"OFF", what="grid back OFF")
    listener.wait(lambda: len(_changes(listener, events)) >= 4, what="four events")
    time.sleep(1.0)  # nothing more is coming

    assert _changes(listener, grid["state_topic"]) == [b"OFF", b"ON", b"OFF"]
    sent = [json.loads(p) for _, t, p in list(listener.history) if t == events]
    assert [(e["event"], e["kind"], e["device_id"], e["state"]) for e in sent] == [
        ("cleared", "device_offline", "powdrive1", "cleared"), ("raised", "grid_lost", "system", "active"),
        ("acknowledged", "grid_lost", "system", "active"), ("cleared", "grid_lost", "system", "cleared")]
    assert sent[2]["acknowledged_by"] == "admin" and sent[1]["id"] == lost.pk
    assert sent[1]["title"] == "Grid lost at System system"
    assert sent[3]["headline"] == "Grid back at System system"

    # A client that connects later: the sensors' states are retained, the events are not.
    late = HaListener(mqtt_url, [f"{base}/#"])
    try:
        late.wait(lambda: late.payload(grid["state_topic"]) == b"OFF", what="retained state")
        time.sleep(0.5)
        assert late.payload(events) is None
    finally:
        late.close()


def test_with_several_collectors_each_has_a_sensor_on_the_system(
        mqtt_settings: MqttSettings, listener: HaListener, running_publisher: list[Publisher]) -> None:
    f.system("system")
    now = timezone.now()
    collector_register("pi-house", host="pi-house", ports=[], now=now)
    collector_register("pi-garage", host="pi-garage", ports=[], now=now - timedelta(hours=1))
    down = _raise("collector-down", "collector", "pi-garage")
    publisher = start_publisher()
    running_publisher.append(publisher)
    runtime._publisher, runtime._owner_pid = publisher, os.getpid()
    topic = f"{mqtt_settings.discovery_prefix}/device/solarmon_system_system/config"
    listener.wait(lambda: "alert_collector_down_pi-garage" in (listener.json(topic) or {}).get("cmps", {}),
                  what="collector sensors")
    cmps = listener.json(topic)["cmps"]
    garage, house = cmps["alert_collector_down_pi-garage"], cmps["alert_collector_down_pi-house"]
    assert garage["name"] == "Collector down pi-garage"
    assert garage["unique_id"] == "solarmon_system_system_alert_collector_down_pi-garage"
    listener.wait(lambda: listener.payload(garage["state_topic"]) == b"ON", what="garage down")
    listener.wait(lambda: listener.payload(house["state_topic"]) == b"OFF", what="house up")
    _clear(down)
    listener.wait(lambda: listener.payload(garage["state_topic"]) == b"OFF", what="garage back")
