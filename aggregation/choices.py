"""Enumerated values of rollup columns."""

from __future__ import annotations

from django.db import models

from telemetry import choices as _telemetry_choices


class Source(models.TextChoices):
    """Where a rollup row's energy came from."""

    COUNTER = "counter", "Device energy counters"
    INTEGRATED = "integrated", "Integrated power"
    MIXED = "mixed", "Partly counters, partly integrated power"
    NONE = "none", "No energy data"
    # Hours of days whose raw samples the original system had pruned: its own hourly figures.
    IMPORTED = "imported", "Imported from the original system's hourly table"


# Where an array's or a system's grid figures came from (grid flow is counted once): the same
# choice as on live array and system samples.
GridSource = _telemetry_choices.GridSource
