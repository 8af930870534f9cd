"""Signal receivers: a late sample marks its day for recomputation. No rollup work happens here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aggregation.dirty import is_late, mark_dirty


def mark_late_samples(sender: Any, *, system_id: str, ts: datetime, **kwargs: Any) -> None:
    """``samples_written`` receiver: cheap for live samples (no query), one upsert for late ones."""
    if is_late(ts):
        mark_dirty(system_id, ts)
