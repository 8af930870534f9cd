"""Signal receivers: a late sample marks its day for rolling up again. No rollup work happens here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aggregation.dirty import is_late, mark_dirty


def mark_late_samples(sender: Any, *, device_type: str, device_id: str, system_id: str, ts: datetime,
                      **kwargs: Any) -> None:
    """``samples_written`` receiver: for a live sample nothing most of the time (two small indexed
    lookups per device and minute), an upsert for a late one."""
    if is_late(device_type, device_id, ts):
        mark_dirty(system_id, ts)
