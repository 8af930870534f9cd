"""Enumerated values of rollup columns."""

from __future__ import annotations

from django.db import models


class Source(models.TextChoices):
    """Where a rollup row's energy came from."""

    COUNTER = "counter", "Device energy counters"
    INTEGRATED = "integrated", "Integrated power"
    MIXED = "mixed", "Partly counters, partly integrated power"
    NONE = "none", "No energy data"


class GridSource(models.TextChoices):
    """Where an array's or a system's grid figures came from (grid flow is counted once)."""

    METER = "meter", "Meter"
    INVERTERS = "inverters", "Sum of inverters"
