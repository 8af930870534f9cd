"""A device's samples over a time range, downsampled in SQL to a bounded number of points.

A week of 5-second samples is ~120 000 rows; the dashboard wants a few hundred points. The
database groups rows into equal buckets of ``step`` seconds (``floor(epoch / step)``) and
averages each numeric column, so the cost is one indexed range scan and the answer is small.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.db.models import Avg, Func, IntegerField

from telemetry import models as t

MAX_POINTS = 2000

SERIES: dict[str, tuple[type[models.Model], str]] = {
    "inverter": (t.EnergySample, "inverter_id"),
    "meter": (t.MeterSample, "meter_id"),
    "battery_pack": (t.BatteryBankSample, "pack_id"),
    "array": (t.ArraySample, "array_id"),
    "system": (t.SystemSample, "system_id"),
}


class EpochBucket(Func):
    """``floor(epoch seconds of the column / step)`` on SQLite and PostgreSQL."""

    output_field = IntegerField()

    def __init__(self, expression: Any, step: int) -> None:
        super().__init__(expression)
        self.step = int(step)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(CAST(strftime('%%s', {sql}) AS INTEGER) / {self.step})", params

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"FLOOR(EXTRACT(EPOCH FROM {sql}) / {self.step})::bigint", params


def numeric_fields(model: type[models.Model]) -> list[str]:
    """The columns worth averaging: numbers that are not keys."""
    kinds = (models.IntegerField, models.FloatField, models.BigIntegerField)
    return [f.name for f in model._meta.concrete_fields
            if isinstance(f, kinds) and not f.is_relation and f.name != "ts"]


def step_for(start: datetime, end: datetime, points: int) -> int:
    """Bucket width in whole seconds so that the range fits in ``points`` buckets."""
    span = max((end - start).total_seconds(), 1.0)
    return max(1, math.ceil(span / max(points, 1)))


def series(kind: str, device_id: str, start: datetime, end: datetime, points: int) -> dict[str, Any]:
    """Bucket averages of every numeric column of one device between ``start`` and ``end``."""
    model, column = SERIES[kind]
    points = min(max(points, 1), MAX_POINTS)
    step = step_for(start, end, points)
    fields = numeric_fields(model)
    rows = (model.objects.filter(**{column: device_id, "ts__gte": start, "ts__lt": end})  # type: ignore[attr-defined]
            .annotate(bucket=EpochBucket("ts", step)).values("bucket")
            .annotate(samples=models.Count("ts"), **{f: Avg(f) for f in fields}).order_by("bucket"))
    out = []
    for row in rows:
        bucket = int(row.pop("bucket"))
        count = row.pop("samples")
        values = {k: (None if v is None else round(float(v), 3)) for k, v in row.items()}
        out.append({"ts": datetime.fromtimestamp(bucket * step, tz=UTC), "samples": count, "values": values})
    return {"kind": kind, "device_id": device_id, "start": start, "end": end, "step_s": step,
            "columns": fields, "points": out}
