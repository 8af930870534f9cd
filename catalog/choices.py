"""Enumerated values of catalog fields."""

from __future__ import annotations

from django.db import models


class DeviceCategory(models.TextChoices):
    INVERTER = "inverter", "Inverter"
    BATTERY = "battery", "Battery"
    METER = "meter", "Meter"


class DeviceType(models.TextChoices):
    """What an adapter instance is attached to (``adapters.device_type``)."""

    INVERTER = "inverter", "Inverter"
    BATTERY_PACK = "battery_pack", "Battery pack"
    METER = "meter", "Meter"


class PhaseType(models.TextChoices):
    SINGLE = "single", "Single phase"
    THREE = "three", "Three phase"
    AUTO = "auto", "Detect"


class MeterType(models.TextChoices):
    GRID = "grid", "Grid"
    CONSUMPTION = "consumption", "Consumption"
    PRODUCTION = "production", "Production"


SYSTEM_TARGET = "system"

# Which device type an adapter of each category serves.
CATEGORY_DEVICE_TYPE = {
    DeviceCategory.INVERTER: DeviceType.INVERTER,
    DeviceCategory.BATTERY: DeviceType.BATTERY_PACK,
    DeviceCategory.METER: DeviceType.METER,
}


class CollectorState(models.TextChoices):
    """Whether a collector is running (computed from its heartbeat, never stored)."""

    UP = "up", "Up: heartbeating"
    DOWN = "down", "Down: no heartbeat, or shut down"
