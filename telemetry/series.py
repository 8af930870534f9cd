"""Bucketed series over a time range, computed in SQL: a bounded answer whatever the range.

A week of 5-second samples is ~120 000 rows; a chart wants a few hundred points. The database
groups rows into equal buckets of ``step`` seconds (``floor(epoch / step)``) and returns each
bucket's sample count, average, minimum and maximum of the asked columns, so the cost is one
range scan of the (ts, device) key and the answer is small. :func:`bucket_rows` does that for any
table (raw samples here; the 5-minute tiers and hourly rollups in :mod:`aggregation.series`,
which chooses among them by range); :data:`RAW` says what the raw tables hold per series kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection

MAX_POINTS = 1000


@dataclass(frozen=True)
class Column:
    """One quantity of a series: SQL for its bucket average, and for its minimum and maximum if kept."""

    avg: str
    min: str | None = None
    max: str | None = None
    weight: str | None = None  # an average of averages: weighted by this column


@dataclass(frozen=True)
class Source:
    """Where a series kind's rows are: table, time column, device column, the quantities."""

    table: str
    device: str
    columns: Mapping[str, Column]
    time: str = "ts"
    grain_s: int = 1  # rows are at least this far apart: buckets are whole multiples
    count: str = "COUNT(*)"  # the samples behind a bucket
    where: tuple[str, ...] = ()  # further conditions, each with its parameters given at query time


def _plain(names: list[str]) -> dict[str, Column]:
    return {n: Column(f"AVG({n})", f"MIN({n})", f"MAX({n})") for n in names}


POWERS = ["pv_power_w", "load_power_w", "batt_power_w", "grid_power_w"]
RAW: dict[str, Source] = {
    "inverter": Source("energy_samples", "inverter_id", _plain([*POWERS, "soc"])),
    "array": Source("array_samples", "array_id", _plain([*POWERS, "batt_soc_pct"])),
    "system": Source("system_samples", "system_id", _plain([*POWERS, "batt_soc_pct"])),
    "battery_pack": Source("battery_bank_samples", "pack_id",
                           _plain(["power_w", "soc", "voltage", "current", "temperature"])),
    "meter": Source("meter_samples", "meter_id",
                    _plain(["grid_power_w", "grid_voltage_v", "grid_current_a", "grid_frequency_hz"])),
}
# A pack's cell band in the raw window: cell rows keep their detail interval's extremes.
RAW_CELL_BAND = Source("battery_cell_samples", "pack_id", {
    "cell_voltage": Column("AVG(voltage)", "MIN(COALESCE(voltage_min, voltage))",
                           "MAX(COALESCE(voltage_max, voltage))")})
SERIES = sorted(RAW)


def step_for(start: datetime, end: datetime, points: int, grain_s: int = 1) -> int:
    """Bucket width in whole seconds (a multiple of ``grain_s``) so the range fits in ``points`` buckets."""
    span = max((end - start).total_seconds(), 1.0)
    step = max(1, math.ceil(span / max(points, 1)))
    return max(grain_s, math.ceil(step / grain_s) * grain_s)


def epoch_sql(column: str) -> str:
    """Whole seconds since the epoch of a datetime column, in this connection's dialect."""
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
    return f"unixepoch({column})"


Buckets = dict[int, dict[str, Any]]


def bucket_rows(source: Source, device_id: str, start: datetime, end: datetime, step: int,
                names: list[str], params: tuple[Any, ...] = ()) -> Buckets:
    """Per bucket (its index ``floor(epoch / step)``): samples, and each name's average, min and max.

    ``params`` fill the source's further conditions.
    """
    exprs, keys = [], []
    for name in names:
        column = source.columns[name]
        avg = column.avg if column.weight is None else (
            f"SUM({column.avg} * {column.weight}) / NULLIF(SUM(CASE WHEN {column.avg} IS NULL THEN 0 "
            f"ELSE {column.weight} END), 0)")
        for kind, expr in (("avg", avg), ("min", column.min), ("max", column.max)):
            if expr is not None:
                exprs.append(expr)
                keys.append((kind, name))
    where = [f"{source.device} = %s", f"{source.time} >= %s", f"{source.time} < %s", *source.where]
    adapt = connection.ops.adapt_datetimefield_value
    sql = (f"SELECT {epoch_sql(source.time)} / {int(step)} AS bucket, {source.count}, "
           f"{', '.join(exprs) or 'NULL'} FROM {source.table} WHERE {' AND '.join(where)} GROUP BY bucket")
    with connection.cursor() as cursor:
        cursor.execute(sql, [device_id, adapt(start), adapt(end), *params])
        found = cursor.fetchall()
    out: Buckets = {}
    for row in found:
        point: dict[str, Any] = {"samples": int(row[1] or 0), "avg": {}, "min": {}, "max": {}}
        for (kind, name), value in zip(keys, row[2:], strict=False):
            point[kind][name] = None if value is None else round(float(value), 3)
        out[int(row[0])] = point
    return out


def points_of(buckets: Buckets, start: datetime, end: datetime, step: int, names: list[str]
              ) -> list[dict[str, Any]]:
    """Every bucket of the range in order, empty ones included (``samples`` 0, values null): gaps show."""
    first, last = int(start.timestamp()) // step, math.ceil(end.timestamp() / step)
    out = []
    for index in range(first, last):
        found = buckets.get(index)
        values = {n: (found["avg"].get(n) if found else None) for n in names}
        out.append({"ts": datetime.fromtimestamp(index * step, tz=UTC),
                    "samples": found["samples"] if found else 0, "values": values,
                    "min": found["min"] if found else {}, "max": found["max"] if found else {}})
    return out
