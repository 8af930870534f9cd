"""A Home Assistant stand-in on the test broker, and a publisher pointed at it."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from integrations.models import MqttSettings
from integrations.mqtt.config import effective_config
from integrations.mqtt.publisher import Publisher


class HaListener:
    """Subscribes like Home Assistant (discovery prefix and state topics) and keeps every message."""

    def __init__(self, url: str, topics: list[str]) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.retained: dict[str, bytes] = {}  # latest payload per topic (empty = cleared)
        self.history: list[tuple[float, str, bytes]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"ha-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.topics_wanted = topics
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(1, 1)
        self.client.connect(host, int(port))
        self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        for topic in self.topics_wanted:
            client.subscribe(topic, qos=1)

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.retained[msg.topic] = msg.payload
            self.history.append((time.monotonic(), msg.topic, msg.payload))

    def payload(self, topic: str) -> bytes | None:
        with self._lock:
            return self.retained.get(topic)

    def json(self, topic: str) -> Any:
        raw = self.payload(topic)
        return json.loads(raw) if raw else None

    def topics(self, prefix: str) -> dict[str, bytes]:
        with self._lock:
            return {t: p for t, p in self.retained.items() if t.startswith(prefix) and p}

    def wait(self, predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or predicate}")

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def configure(url: str, **fields: Any) -> MqttSettings:
    """Store MQTT settings pointing at ``url`` with topics of their own (tests share one broker)."""
    tag = uuid.uuid4().hex[:8]
    row = MqttSettings(enabled=True, broker_url=url, base_topic=f"sm{tag}", discovery_prefix=f"ha{tag}",
                       **fields)
    row.save()
    return row


@pytest.fixture
def mqtt_settings(mqtt_url: str, transactional_db: None) -> MqttSettings:
    return configure(mqtt_url)


@pytest.fixture
def listener(mqtt_url: str, mqtt_settings: MqttSettings) -> Iterator[HaListener]:
    ha = HaListener(mqtt_url, [f"{mqtt_settings.discovery_prefix}/#", f"{mqtt_settings.base_topic}/#"])
    yield ha
    ha.close()


def start_publisher(check_s: float = 0.5, reconnect_max_s: float = 1.0) -> Publisher:
    publisher = Publisher(effective_config(), queue_size=200, check_s=check_s,
                          reconnect_max_s=reconnect_max_s, keepalive_s=5)
    publisher.start()
    return publisher


@pytest.fixture
def publisher(mqtt_settings: MqttSettings) -> Iterator[Publisher]:
    from integrations.mqtt import runtime

    pub = start_publisher()
    # Make this test's publisher the process's, so the poll signals reach it.
    runtime._publisher, runtime._owner_pid = pub, __import__("os").getpid()
    yield pub
    runtime._publisher, runtime._owner_pid = None, 0
    pub.stop()


@pytest.fixture
def live_installation(transactional_db: None) -> Iterator[Any]:
    """The telemetry tests' simulated installation (simulators on loopback and ptys), committed."""
    from telemetry.polling import close_readers
    from tests.telemetry.conftest import _start_rig, build_installation

    build_installation()
    rig = _start_rig()
    yield rig
    close_readers()
    rig.stop()


class PollLoop:
    """Polls every device of the installation once a second in a thread, like the worker does."""

    def __init__(self) -> None:
        self.rounds = 0
        self.slowest_s = 0.0
        self.skip: set[str] = set()  # device ids no longer polled (no poll event at all)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connection

        from telemetry.polling import device_refs, poll_device

        try:
            while not self._stop.is_set():
                started = time.monotonic()
                for ref in device_refs():
                    if ref.device_id in self.skip:
                        continue
                    t0 = time.monotonic()
                    poll_device(ref)
                    self.slowest_s = max(self.slowest_s, time.monotonic() - t0)
                self.rounds += 1
                self._stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))
        finally:
            connection.close()

    def __enter__(self) -> PollLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def fast_polls() -> None:
    """Every adapter polled each second (the stale time becomes three seconds)."""
    from catalog.models import Adapter

    Adapter.objects.update(poll_interval_s=1.0)
