"""Celery tasks for notifications. Thin: the retry policy is here, the work in notifications.py."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from integrations.notifications import DeliveryFailed, deliver

# A push service or mail server that is down for a while is retried with growing gaps
# (about 15 s, 30 s, 1 min … capped at 30 min, with jitter): some two hours in all.
MAX_RETRIES = 8


@shared_task(bind=True, ignore_result=True, autoretry_for=(DeliveryFailed,), retry_backoff=15,
             retry_backoff_max=1800, retry_jitter=True, max_retries=MAX_RETRIES, soft_time_limit=60,
             time_limit=90)
def deliver_notification(self: Any, delivery_id: int) -> None:
    """Send one alert notification to one channel."""
    deliver(delivery_id, final=self.request.retries >= MAX_RETRIES)


@shared_task(ignore_result=True, expires=300)
def publish_alert_change(alert_id: int, event: str) -> None:
    """Publish an alert change made outside a worker (acknowledged in the web server) over MQTT."""
    from alerts.models import Alert
    from integrations.alerts_mqtt import publish_alert_change as publish

    alert = Alert.objects.select_related("rule", "acknowledged_by").filter(pk=alert_id).first()
    if alert is not None:
        publish(alert, event)
