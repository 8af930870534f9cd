"""Enumerated values of the integrations app."""

from __future__ import annotations

from django.db import models


class HaKind(models.TextChoices):
    """The kinds of Home Assistant device solarmon publishes: one per solarmon device."""

    SYSTEM = "system", "System"
    ARRAY = "array", "Inverter array"
    BATTERY_ARRAY = "battery_array", "Battery array"
    INVERTER = "inverter", "Inverter"
    METER = "meter", "Meter"
    PACK = "pack", "Battery pack"
    BATTERY = "battery", "Battery unit"


class Availability(models.TextChoices):
    """Payloads of the availability topics (Home Assistant's defaults)."""

    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
class ChannelKind(models.TextChoices):
    """How a notification channel delivers."""

    APPRISE = "apprise", "Push or webhook (an Apprise URL: ntfy, Telegram, Pushover, Gotify, json://…)"
    EMAIL = "email", "E-mail (through SOLARMON_EMAIL_URL)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending: queued or retrying"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed: gave up after the last retry"
