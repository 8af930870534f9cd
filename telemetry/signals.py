"""Signals other apps listen to (imports point down: aggregation listens to telemetry)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a poll's rows are committed: kwargs ``device_type`` ("inverter", "battery_pack",
# "meter"), ``device_id``, ``system_id``, ``ts`` (the sample time) and ``detail_ts`` (where a
# pack's unit and cell rows of this poll are: the start of their detail interval, which holds
# the latest values; ``ts`` for other devices) and ``rows`` (the ``telemetry.ingest.RowSet``
# written: each table's rows as column values, the head row first), so that a receiver has the
# poll's values without reading them back. Rollups use it to recompute buckets that a late
# sample touches, alerts to evaluate the device's rules.
# Sent at every poll: the receivers are looked up once per sender (the head table), not each time.
samples_written = Signal(use_caching=True)
