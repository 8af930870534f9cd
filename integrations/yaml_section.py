"""The ``mqtt:`` section of a config file, in solarmon's shape or the original system's.

solarmon's shape names the row's fields (``broker_url``, ``discovery_prefix``, ...). The original's
``{host, port, username, password, base_topic, client_id, ha_discovery}`` becomes a broker URL,
keeps its topics and client id, and sets ``legacy_ids`` so the entities it created in Home
Assistant keep their ids. The password is imported when the file gives one and never exported.
"""

from __future__ import annotations

from typing import Any

from catalog.yamlconfig.fields import Item
from catalog.yamlconfig.sections import SectionValues, SingletonRowSection
from integrations.models import MqttSettings

FIELDS = ("enabled", "broker_url", "username", "password", "client_id", "base_topic", "discovery_prefix",
          "discovery_enabled", "retain", "qos", "tls_ca_file", "legacy_ids")
TEXT_FIELDS = ("broker_url", "username", "password", "client_id", "base_topic", "discovery_prefix",
               "tls_ca_file")
FLAG_FIELDS = ("enabled", "discovery_enabled", "retain", "legacy_ids")
# The original's own keys (username, password, base_topic and client_id are shared).
ORIGINAL_KEYS = ("host", "port", "ha_discovery")
# The original's defaults for what its file leaves out.
ORIGINAL_DEFAULTS = {"base_topic": "solar/fleet", "client_id": "solar-hub", "discovery_enabled": False}


def _defaults() -> dict[str, Any]:
    blank = MqttSettings()
    return {name: getattr(blank, name) for name in FIELDS if name != "password"}


class MqttSection(SingletonRowSection):
    """``mqtt:`` ↔ the ``mqtt_settings`` row."""

    model = MqttSettings
    key = "mqtt"
    table = "mqtt_settings"

    def parse(self, item: Item) -> SectionValues | None:
        item.check_keys((*FIELDS, *ORIGINAL_KEYS))
        values = _defaults()
        paths = {name: item.at(name) for name in FIELDS}
        if any(item.has(key) for key in ORIGINAL_KEYS):
            if item.has("broker_url"):
                item.error("broker_url", "give either broker_url or the original's host and port, not both")
            url = self._original_url(item)
            values.update(ORIGINAL_DEFAULTS, enabled=True, legacy_ids=True, broker_url=url or "")
            paths.update(broker_url=item.at("host"), discovery_enabled=item.at("ha_discovery"))
            if item.has("ha_discovery") and item.has("discovery_enabled"):
                item.error("discovery_enabled", "give either discovery_enabled or ha_discovery, not both")
            values["discovery_enabled"] = item.boolean("ha_discovery", values["discovery_enabled"])
        for name in TEXT_FIELDS:
            if item.has(name) and (text := item.text(name)) is not None:
                values[name] = text
            elif item.has(name):
                values[name] = ""
        for name in FLAG_FIELDS:
            values[name] = item.boolean(name, values[name])
        values["qos"] = item.integer("qos", values["qos"], minimum=0)
        return SectionValues(values, item.path, paths)

    @staticmethod
    def _original_url(item: Item) -> str | None:
        host = item.text("host", required=True)
        port = item.integer("port", 1883, minimum=1)
        if port is not None and port > 65535:
            item.error("port", "must be at most 65535")
        if host is None:
            return None
        return f"mqtt://[{host}]:{port}" if ":" in host else f"mqtt://{host}:{port}"

    def export(self) -> dict[str, Any] | None:
        row = self.stored()
        if row is None:
            return None
        # Never the password: an export is a file people share and commit.
        return {name: getattr(row, name) for name in FIELDS if name != "password"}
