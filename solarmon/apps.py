"""The project app: dashboard views, templates and static files.

At start-up it plugs the upper apps' functions into the catalog's admin and API (device
status, connection tests, "poll now", ports discovery has seen), which cannot import them.
"""

from __future__ import annotations

from django.apps import AppConfig


class SolarmonConfig(AppConfig):
    name = "solarmon"
    verbose_name = "solarmon"

    def ready(self) -> None:
        from catalog import ports
        from catalog.providers import PROVIDERS
        from solarmon.discovered_ports import discovered_ports
        from telemetry import providers

        PROVIDERS.device_status = providers.device_status
        PROVIDERS.test_connection = providers.test_connection
        PROVIDERS.poll_now = providers.poll_now
        if discovered_ports not in ports.PORT_SOURCES:
            ports.PORT_SOURCES.append(discovered_ports)
