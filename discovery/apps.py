"""Discovery: finding and configuring USB serial devices."""

from __future__ import annotations

from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    """Registers the ``discovery:`` section of the YAML import/export."""

    name = "discovery"

    def ready(self) -> None:
        from catalog.yamlconfig.sections import register_section
        from discovery.yaml_section import DiscoverySection

        register_section(DiscoverySection())
