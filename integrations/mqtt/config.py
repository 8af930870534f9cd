"""The MQTT settings in force: the stored row, overridden by the environment.

``SOLARMON_MQTT_URL`` replaces the broker URL (and may carry the username and password, as
deployments keep secrets in the environment) and turns publishing on;
``SOLARMON_MQTT_BASE_TOPIC`` and ``SOLARMON_MQTT_DISCOVERY_PREFIX`` replace their fields.
The password is never part of a repr, a log line or an API answer.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.conf import settings

from integrations.models import MQTT_SCHEMES, MqttSettings, broker_address

TOPIC_FORBIDDEN = set("#+\x00")


@dataclass(frozen=True)
class MqttConfig:
    """Everything the publisher needs to connect and name topics."""

    enabled: bool
    scheme: str
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    client_id: str
    base_topic: str
    discovery_prefix: str
    discovery_enabled: bool
    retain: bool
    qos: int
    tls_ca_file: str
    legacy_ids: bool
    overridden: tuple[str, ...] = ()

    @property
    def broker(self) -> str:
        """``scheme://host:port``: safe to show and log."""
        return f"{self.scheme}://{self.host}:{self.port}" if self.host else ""

    def process_client_id(self) -> str:
        """The configured client id made unique per process (a broker drops a duplicate id)."""
        return f"{self.client_id}-{socket.gethostname()}-{os.getpid()}"[:200]


def env_broker(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, username, password) of ``SOLARMON_MQTT_URL``; ValueError names the problem."""
    parts = urlsplit(url)
    if parts.scheme not in MQTT_SCHEMES or not parts.hostname:
        raise ValueError("SOLARMON_MQTT_URL: use mqtt://[user:password@]host[:port] (or mqtts://)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("SOLARMON_MQTT_URL: only mqtt[s]://[user:password@]host[:port] is allowed")
    try:
        port = parts.port or MQTT_SCHEMES[parts.scheme]
    except ValueError:
        raise ValueError("SOLARMON_MQTT_URL has an invalid port") from None
    return (parts.scheme, parts.hostname, port, unquote(parts.username or ""),
            unquote(parts.password or ""))


def validate_topic_root(value: str, what: str) -> str:
    """A base topic or discovery prefix without wildcards or surrounding slashes."""
    cleaned = value.strip().strip("/")
    if not cleaned or TOPIC_FORBIDDEN & set(cleaned):
        raise ValueError(f"{what} {value!r}: give a topic without '#', '+' or NUL")
    return cleaned


def overrides() -> dict[str, str]:
    """The model fields the environment overrides, with the variable that does it."""
    names = {"broker_url": "SOLARMON_MQTT_URL", "base_topic": "SOLARMON_MQTT_BASE_TOPIC",
             "discovery_prefix": "SOLARMON_MQTT_DISCOVERY_PREFIX"}
    return {f: var for f, var in names.items() if getattr(settings, var)}


def effective_config(row: MqttSettings | None = None) -> MqttConfig:
    """The settings in force now. Raises ValueError when an environment value is malformed."""
    row = row or MqttSettings.current()
    scheme, host, port, username, password = "mqtt", "", 1883, row.username, row.password
    enabled = row.enabled
    if row.broker_url:
        scheme, host, port = broker_address(row.broker_url)
    if settings.SOLARMON_MQTT_URL:
        scheme, host, port, env_user, env_password = env_broker(settings.SOLARMON_MQTT_URL)
        username, password = env_user or username, env_password or password
        enabled = True
    base = settings.SOLARMON_MQTT_BASE_TOPIC or row.base_topic
    prefix = settings.SOLARMON_MQTT_DISCOVERY_PREFIX or row.discovery_prefix
    return MqttConfig(
        enabled=enabled and bool(host), scheme=scheme, host=host, port=port, username=username,
        password=password, client_id=row.client_id or "solarmon",
        base_topic=validate_topic_root(base, "base topic"),
        discovery_prefix=validate_topic_root(prefix, "discovery prefix"),
        discovery_enabled=row.discovery_enabled, retain=row.retain, qos=int(row.qos),
        tls_ca_file=row.tls_ca_file, legacy_ids=row.legacy_ids, overridden=tuple(overrides()))
