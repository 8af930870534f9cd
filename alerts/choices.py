"""Enumerated values of alert fields."""

from __future__ import annotations

from django.db import models


class AlertState(models.TextChoices):
    ACTIVE = "active", "Active: the condition holds"
    CLEARED = "cleared", "Cleared: the condition ended"


class Severity(models.TextChoices):
    """How loudly an alert speaks; channels can ignore warnings."""

    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class SubjectType(models.TextChoices):
    """What an alert is about: a polled device, a whole system, or the host solarmon runs on."""

    INVERTER = "inverter", "Inverter"
    BATTERY_PACK = "battery_pack", "Battery pack"
    METER = "meter", "Meter"
    SYSTEM = "system", "System"
    HOST = "host", "Host"
    COLLECTOR = "collector", "Collector"


class AlertEvent(models.TextChoices):
    """What happened to an alert (the ``event`` of ``alerts.signals.alert_changed``)."""

    RAISED = "raised", "Raised"
    CLEARED = "cleared", "Cleared"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class Trigger(models.TextChoices):
    """When a rule kind is evaluated."""

    POLL = "poll", "After each poll of a device"
    PERIODIC = "periodic", "Every minute or so, whether polls succeed or not"
    ROLLUP = "rollup", "After each rollup of a day"


DEVICE_SUBJECTS = (SubjectType.INVERTER, SubjectType.BATTERY_PACK, SubjectType.METER)
