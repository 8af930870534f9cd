"""How often the original recorded each device, day by day, so the rollups of imported days bridge
the original's own interval between samples and no more.

The original polled every device at ``polling.interval_secs`` (and its files may have been thinned),
which is rarely solarmon's interval for the same device. The typical spacing of a device's samples
on a day is the median of the steps between them; runs of days with about the same spacing
become one :class:`aggregation.models.RecordedInterval`.
"""

from __future__ import annotations

import sqlite3
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction

from aggregation.models import RecordedInterval
from telemetry.choices import DeviceKind

KINDS = {"energy_samples": ("inverter_id", DeviceKind.INVERTER),
         "meter_samples": ("meter_id", DeviceKind.METER),
         "battery_bank_samples": ("bank_id", DeviceKind.BATTERY_PACK)}
# Days whose spacings differ by less than this share are one run.
SAME = 0.1
EPOCH_SQL = "(julianday(ts) - 2440587.5) * 86400.0"


@dataclass
class Run:
    """Consecutive days of one device sampled at about the same interval."""

    first: float
    last: float
    interval: float


def device_runs(conn: sqlite3.Connection, table: str, device: str) -> dict[str, list[Run]]:
    """Per legacy device id, its runs of days with the same spacing (epoch seconds)."""
    runs: dict[str, list[Run]] = {}
    state: dict[str, tuple[str, float, float, list[float]]] = {}  # dev → (day, first, last, steps)
    rows = conn.execute(f"SELECT {device}, substr(ts, 1, 10), {EPOCH_SQL} FROM legacy.{table} ORDER BY rowid")
    for dev, day, moment in rows:
        if moment is None:
            continue
        current = state.get(dev)
        if current is not None and current[0] != day:
            # The step over midnight belongs to the day it ends: the run reaches its first sample.
            if moment > current[2]:
                current[3].append(moment - current[2])
            _close(runs.setdefault(dev, []), (current[0], current[1], max(moment, current[2]), current[3]))
            current = None
        if current is None:
            state[dev] = (day, moment, moment, [])
            continue
        if moment > current[2]:
            current[3].append(moment - current[2])
            state[dev] = (day, current[1], moment, current[3])
    for dev, current in state.items():
        _close(runs.setdefault(dev, []), current)
    return runs


def _close(runs: list[Run], day: tuple[str, float, float, list[float]]) -> None:
    _, first, last, steps = day
    if not steps:
        return
    interval = statistics.median(steps)
    if runs and abs(runs[-1].interval - interval) <= SAME * max(runs[-1].interval, interval):
        runs[-1].last, runs[-1].interval = last, max(runs[-1].interval, interval)
    else:
        runs.append(Run(first, last, interval))


def record_intervals(conn: sqlite3.Connection, table: str, placed: dict[str, str]) -> int:
    """Store the recorded intervals of ``table``'s devices (legacy id → solarmon id); rows written.

    The file is read first; only the write is a (short) transaction.
    """
    device, kind = KINDS[table]
    found = {placed[legacy_id]: runs for legacy_id, runs in device_runs(conn, table, device).items()
             if legacy_id in placed and runs}
    with transaction.atomic():
        for target, runs in found.items():
            first, last = _utc(runs[0].first), _utc(runs[-1].last)
            RecordedInterval.objects.filter(device_type=kind, device_id=target, start__gte=first,
                                            end__lte=last).delete()
            RecordedInterval.objects.bulk_create([
                RecordedInterval(device_type=kind, device_id=target, start=_utc(run.first),
                                 end=_utc(run.last), interval_s=round(run.interval, 3)) for run in runs])
    return sum(len(runs) for runs in found.values())


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
