"""The broker connection: paho-mqtt 2.x (callback API v2), MQTT 5 where the broker offers it.

A fresh paho client is made for every connection, so nothing queued for a dead connection is
ever replayed on the next one (an old energy value replayed after a newer one would look
like a meter reset to Home Assistant). Reconnection waits 1 s, then doubles up to
``reconnect_max_s``. The bridge topic carries ``online`` while connected and ``offline`` as
the client's last will, so Home Assistant marks everything unavailable when the process dies.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from integrations.choices import Availability
from integrations.mqtt.config import MqttConfig

log = logging.getLogger(__name__)

UNSUPPORTED_PROTOCOL = 0x84  # CONNACK "Unsupported Protocol Version" (MQTT 5)


class Link:
    """Keeps one connection to the broker alive from a thread of its own."""

    def __init__(self, cfg: MqttConfig, bridge_topic: str, subscriptions: list[str],
                 on_connected: Callable[[], None], on_message: Callable[[str, bytes, bool], None],
                 on_error: Callable[[str], None], reconnect_max_s: float = 60.0, keepalive_s: int = 30,
                 client_id: str | None = None) -> None:
        self.cfg = cfg
        self.bridge_topic = bridge_topic
        self.subscriptions = subscriptions
        self.on_connected = on_connected
        self.on_message = on_message
        self.on_error = on_error
        self.reconnect_max_s = reconnect_max_s
        self.keepalive_s = keepalive_s
        self.client_id = client_id or cfg.process_client_id()
        self.protocol = MQTTProtocolVersion.MQTTv5
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="mqtt-link", daemon=True)

    # ---- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Say ``offline`` on the bridge topic, disconnect cleanly, and end the thread."""
        self._stop.set()
        with self._lock:
            client = self._client
        if client is not None and self.connected.is_set():
            info = client.publish(self.bridge_topic, Availability.OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):
                pass
            client.disconnect()
        self._thread.join(timeout)

    def publish(self, topic: str, payload: str | bytes, retain: bool, qos: int) -> bool:
        """Hand one message to the connection; False when there is none (the caller counts it)."""
        with self._lock:
            client = self._client
        if client is None or not self.connected.is_set():
            return False
        info = client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    @property
    def protocol_name(self) -> str:
        return "MQTT 5" if self.protocol == MQTTProtocolVersion.MQTTv5 else "MQTT 3.1.1"

    # ---- the connection thread ----------------------------------------------------------
    def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            started = self._connect_once()
            if self._stop.is_set():
                break
            delay = 1.0 if started else min(delay * 2, self.reconnect_max_s)
            self._stop.wait(delay)

    def _connect_once(self) -> bool:
        """One connection from CONNECT to its loss; True when it was accepted by the broker."""
        client = self._new_client()
        accepted = threading.Event()
        client.user_data_set(accepted)
        try:
            client.connect(self.cfg.host, self.cfg.port, keepalive=self.keepalive_s)
        except (OSError, ValueError) as exc:
            self.on_error(f"cannot reach {self.cfg.broker}: {exc}")
            return False
        with self._lock:
            self._client = client
        try:
            client.loop_forever(retry_first_connection=False)
        except (OSError, ValueError) as exc:
            self.on_error(f"connection to {self.cfg.broker} failed: {exc}")
        finally:
            self.connected.clear()
            with self._lock:
                self._client = None
        return accepted.is_set()

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=self.protocol,
                             reconnect_on_failure=False)
        if self.cfg.username:
            client.username_pw_set(self.cfg.username, self.cfg.password or None)
        if self.cfg.scheme == "mqtts":
            client.tls_set(ca_certs=self.cfg.tls_ca_file or None)
        client.will_set(self.bridge_topic, Availability.OFFLINE, qos=1, retain=True)
        client.max_inflight_messages_set(50)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, accepted: threading.Event, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            if reason.value == UNSUPPORTED_PROTOCOL and self.protocol == MQTTProtocolVersion.MQTTv5:
                self.protocol = MQTTProtocolVersion.MQTTv311
            self.on_error(f"broker {self.cfg.broker} refused the connection: {reason}")
            client.disconnect()
            return
        accepted.set()
        client.publish(self.bridge_topic, Availability.ONLINE, qos=1, retain=True)
        for topic in self.subscriptions:
            if self.protocol == MQTTProtocolVersion.MQTTv5:
                client.subscribe(topic, options=SubscribeOptions(qos=1, noLocal=True))
            else:
                client.subscribe(topic, qos=1)
        self.connected.set()
        log.info("MQTT connected to %s (%s)", self.cfg.broker, self.protocol_name)
        self.on_connected()

    def _on_disconnect(self, client: mqtt.Client, accepted: threading.Event, flags: Any, reason: Any,
                       properties: Any) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            self.on_error(f"disconnected from {self.cfg.broker}: {reason}")

    def _on_message(self, client: mqtt.Client, accepted: threading.Event, message: mqtt.MQTTMessage) -> None:
        self.on_message(message.topic, message.payload, bool(message.retain))
