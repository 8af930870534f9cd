"""Reads of the integrations for the dashboard: the MQTT clients' status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from integrations.models import MqttClientStatus

# A client writes its row at least once a minute while its process runs.
RUNNING_WITHIN = timedelta(seconds=90)
SHOWN = 10


def is_running(row: MqttClientStatus, now: datetime) -> bool:
    """Whether the client's process reported recently."""
    return now - row.updated_at < RUNNING_WITHIN


@dataclass(frozen=True)
class MqttOverview:
    """What the MQTT publishing looks like now: the broker in force and each client's report."""

    broker: str
    problem: str = ""  # settings that cannot be used (a malformed SOLARMON_MQTT_URL)
    clients: list[tuple[MqttClientStatus, bool]] = field(default_factory=list)  # (row, running)

    @property
    def dropped(self) -> int:
        return sum(row.dropped for row, running in self.clients if running)


def mqtt_overview(now: datetime | None = None) -> MqttOverview | None:
    """None when MQTT publishing is not configured; else the broker and the latest client rows."""
    from integrations.mqtt.config import effective_config

    now = now or timezone.now()
    try:
        cfg = effective_config()
    except ValueError as exc:
        return MqttOverview(broker="", problem=str(exc))
    if not cfg.enabled:
        return None
    rows = MqttClientStatus.objects.order_by("-updated_at")[:SHOWN]
    return MqttOverview(broker=cfg.broker, clients=[(row, is_running(row, now)) for row in rows])
