"""Enumerated values of telemetry fields."""

from __future__ import annotations

from django.db import models


class DeviceKind(models.TextChoices):
    """The kinds of polled device; the same strings as ``adapters.device_type``."""

    INVERTER = "inverter", "Inverter"
    BATTERY_PACK = "battery_pack", "Battery pack"
    METER = "meter", "Meter"


class DeviceState(models.TextChoices):
    ONLINE = "online", "Online: read recently"
    STALE = "stale", "Stale: last good reading is old"
    OFFLINE = "offline", "Offline: failing repeatedly"
    UNKNOWN = "unknown", "Unknown: never read"


class GridSource(models.TextChoices):
    METER = "meter", "Meter"
    INVERTERS = "inverters", "Sum of inverters"
