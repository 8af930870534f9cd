"""Integrations: what leaves the box (MQTT with Home Assistant discovery, notifications)."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Connects the MQTT publisher to telemetry's signals and Celery's worker hooks, notification
    channels and the alert binary sensors to ``alerts.signals.alert_changed``; registers the
    ``mqtt:`` section of the YAML import/export."""

    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown
        from django.db.models.signals import post_save

        from alerts.signals import alert_changed
        from catalog.yamlconfig.sections import register_section
        from integrations import alerts_mqtt, receivers
        from integrations.mqtt import runtime
        from integrations.mqtt.extensions import register_provider
        from integrations.notifications import queue_deliveries
        from integrations.yaml_section import MqttSection
        from telemetry.models import DeviceStatus
        from telemetry.signals import samples_written

        samples_written.connect(receivers.on_samples_written, dispatch_uid="integrations.mqtt.samples")
        post_save.connect(receivers.on_status_saved, sender=DeviceStatus,
                          dispatch_uid="integrations.mqtt.status")
        worker_init.connect(runtime.on_worker_init, weak=False)
        worker_ready.connect(runtime.on_worker_ready, weak=False)
        worker_process_init.connect(runtime.on_worker_process_init, weak=False)
        worker_shutdown.connect(runtime.on_worker_shutdown, weak=False)
        alert_changed.connect(queue_deliveries, dispatch_uid="integrations.queue_deliveries")
        alert_changed.connect(alerts_mqtt.on_alert_changed, dispatch_uid="integrations.alerts_mqtt")
        register_provider(alerts_mqtt.components_for)
        register_section(MqttSection())
