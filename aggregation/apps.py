"""Hourly and daily rollups and energy accounting."""

from __future__ import annotations

from django.apps import AppConfig


class AggregationConfig(AppConfig):
    """Connects the late-sample receiver to telemetry's ``samples_written`` signal."""

    name = "aggregation"

    def ready(self) -> None:
        from aggregation.receivers import mark_late_samples
        from telemetry.signals import samples_written

        samples_written.connect(mark_late_samples, dispatch_uid="aggregation.mark_late_samples")
        from telemetry.diskfull import samples_stored

        samples_written.connect(samples_stored, dispatch_uid="telemetry.diskfull.samples_stored")
