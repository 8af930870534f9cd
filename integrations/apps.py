"""Integrations: what leaves the box (MQTT with Home Assistant discovery, notifications)."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Connects notification channels to ``alerts.signals.alert_changed``."""

    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from alerts.signals import alert_changed
        from integrations.notifications import queue_deliveries

        alert_changed.connect(queue_deliveries, dispatch_uid="integrations.queue_deliveries")
