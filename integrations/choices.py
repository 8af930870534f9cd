"""Enumerated values of integration fields."""

from __future__ import annotations

from django.db import models


class ChannelKind(models.TextChoices):
    """How a notification channel delivers."""

    APPRISE = "apprise", "Push or webhook (an Apprise URL: ntfy, Telegram, Pushover, Gotify, json://…)"
    EMAIL = "email", "E-mail (through SOLARMON_EMAIL_URL)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending: queued or retrying"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed: gave up after the last retry"
