"""Signal receivers: evaluate right after a poll's rows and a rollup's rows are committed.

They run inside the poll (or rollup) task, so they never raise: a bug in a rule must not stop
solarmon from storing its samples. Delivery is queued elsewhere and never waits here.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from alerts.evaluation import evaluate_poll, evaluate_rollup
from telemetry.ingest import RowSet

log = logging.getLogger(__name__)


def evaluate_after_poll(sender: Any, *, device_type: str, device_id: str, system_id: str, ts: datetime,
                        detail_ts: datetime | None = None, rows: RowSet | None = None,
                        **kwargs: Any) -> None:
    """``telemetry.signals.samples_written`` receiver: this device's rules, on this poll's rows."""
    try:
        evaluate_poll(device_type, device_id, system_id, ts, detail_ts, rows)
    except Exception:  # never let alerting break a poll
        log.exception("alert evaluation after the poll of %s %s failed", device_type, device_id)


def evaluate_after_rollup(sender: Any, *, system_id: str, day: date, glitches: dict[tuple[str, str], int],
                          **kwargs: Any) -> None:
    """``aggregation.signals.rollup_written`` receiver: counter-glitch rules on the day's counts."""
    try:
        evaluate_rollup(system_id, day, glitches)
    except Exception:  # never let alerting break a rollup
        log.exception("alert evaluation after the rollup of %s %s failed", system_id, day)
