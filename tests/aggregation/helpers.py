"""Small synthetic sample sets for rollup tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from catalog import models as catalog
from telemetry import models as t


def steady_inverter(inv: catalog.Inverter, start: datetime, end: datetime, *, step_s: int = 10,
                    **powers: int) -> list[t.EnergySample]:
    """Samples of constant power every ``step_s`` seconds from ``start`` to ``end`` inclusive."""
    rows, ts = [], start.astimezone(UTC)  # step in UTC: wall-clock steps break across DST
    while ts <= end:
        rows.append(t.EnergySample(ts=ts, inverter_id=inv.pk, array_id=inv.array_id, system_id=inv.system_id,
                                   **powers))
        ts += timedelta(seconds=step_s)
    return rows


def steady_meter(meter: catalog.Meter, start: datetime, end: datetime, grid_w: int, *, step_s: int = 10
                 ) -> list[t.MeterSample]:
    rows, ts = [], start.astimezone(UTC)  # step in UTC: wall-clock steps break across DST
    while ts <= end:
        rows.append(t.MeterSample(ts=ts, meter_id=meter.pk, system_id=meter.system_id,
                                  array_id=meter.array_id, grid_power_w=grid_w))
        ts += timedelta(seconds=step_s)
    return rows


def steady_pack(pack: catalog.BatteryPack, start: datetime, end: datetime, power_w: float, soc: float, *,
                step_s: int = 10) -> list[t.BatteryBankSample]:
    rows, ts = [], start.astimezone(UTC)  # step in UTC: wall-clock steps break across DST
    while ts <= end:
        rows.append(t.BatteryBankSample(ts=ts, pack_id=pack.pk, battery_array_id=pack.battery_array_id,
                                        system_id=pack.system_id, power_w=power_w, soc=soc, voltage=52.0,
                                        current=power_w / 52.0, temperature=24.0))
        ts += timedelta(seconds=step_s)
    return rows


def insert(*batches: Iterable[Any]) -> None:
    for batch in batches:
        rows = list(batch)
        if rows:
            type(rows[0]).objects.bulk_create(rows, batch_size=2000)
