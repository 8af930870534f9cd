"""Integrations: what leaves the box (MQTT with Home Assistant discovery)."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Registers the ``mqtt:`` section of the YAML import/export."""

    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from catalog.yamlconfig.sections import register_section
        from integrations.yaml_section import MqttSection

        register_section(MqttSection())
