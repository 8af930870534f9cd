"""Enumerated values of discovery fields."""

from __future__ import annotations

from django.db import models


class DiscoveryStatus(models.TextChoices):
    """Where a discovered device stands."""

    ACTIVE = "active", "Active: seen on its port"
    RECOVERING = "recovering", "Recovering: missing, retried with backoff"
    DISABLED = "disabled", "Disabled: missing too often; its adapter is off"
    PENDING = "pending", "Pending: awaiting approval"
    REJECTED = "rejected", "Rejected: ignored by every scan"


class ProbeResult(models.TextChoices):
    """What a port answered the last time it was probed."""

    IDENTIFIED = "identified", "Identified a device"
    SILENT = "silent", "Silent: nothing answered"
    GARBAGE = "garbage", "Garbage: bytes that no protocol understood"
    UNRECOGNIZED = "unrecognized", "Unrecognized: answered, but no known device"
    BUSY = "busy", "Busy: held by another process"
    IN_USE = "in_use", "In use: a configured device is polled there"


# Results that make a port wait before its next probe (a new device may appear later).
BACKOFF_RESULTS = (ProbeResult.SILENT, ProbeResult.GARBAGE, ProbeResult.UNRECOGNIZED)
