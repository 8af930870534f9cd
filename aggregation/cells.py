"""One cell's series, and the weakest cell of a pack over a period.

A pack's cell band (lowest, mean and highest cell) is a quantity of the pack's own series
(:mod:`aggregation.series`); these read single cells. A cell's series comes from its raw rows
for short recent ranges (as the pack's does) and from its 5-minute tier
(``battery_cell_samples_5min``, kept ``SOLARMON_CELL_TIER_RETENTION_DAYS``) otherwise, through the
tier's (cell, slot) index; there is no hourly rollup per cell, so at most ``points`` buckets of
the tier are the coarsest answer, on the pack's bucket grid.

The weakest cell of a period is the one that reached the lowest voltage in it (a cell that
has lost capacity is the first to sag under load and at the bottom of a discharge). It is found
without scanning every cell row of the period: whole local days come from the cells' daily
summary (``battery_cell_daily``, one row per cell and day, written with the cell tiers); the
partial days at the ends from the pack's tier, which keeps its lowest cell per slot, so the slot
of their lowest cell is one range read of the pack's slots and the cell is one read of that
slot's cell rows; the open span (from the hour holding the last closed slot on) from the raw rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from aggregation.buckets import Day, from_db, local_date, local_day
from aggregation.series import GRAINS, _buckets, _oldest, _open_from, _timezone, choose_source
from catalog import models as catalog
from telemetry.series import MAX_POINTS, Column, Source, bucket_rows, points_of, step_for

CELL_QUANTITIES = ["voltage", "temperature"]
CELL_RAW = Source("battery_cell_samples", "cell_id", {
    "voltage": Column("AVG(voltage)", "MIN(COALESCE(voltage_min, voltage))",
                      "MAX(COALESCE(voltage_max, voltage))"),
    "temperature": Column("AVG(temperature)", "MIN(COALESCE(temperature_min, temperature))",
                          "MAX(COALESCE(temperature_max, temperature))")})
CELL_TIER = Source("battery_cell_samples_5min", "cell_id", {
    name: Column(f"AVG({name}_avg)", f"MIN({name}_min)", f"MAX({name}_max)") for name in CELL_QUANTITIES},
    grain_s=300, count="SUM(sample_count)")


def cell_series(cell: catalog.BatteryCell, start: datetime, end: datetime, points: int) -> dict[str, Any]:
    """At most ``points`` buckets of one cell's voltage and temperature (shaped as :func:`series`).

    The buckets are those of the pack's own series over the same range and points (its step is
    a multiple of the pack's source's grain), so a chart draws the cell on the pack's band.
    """
    points = min(max(points, 1), MAX_POINTS)
    raw_from, tier_from = _oldest(CELL_RAW.table), _oldest(CELL_TIER.table)
    short = end - start <= timedelta(hours=settings.SOLARMON_SERIES_RAW_MAX_HOURS)
    raw = raw_from is not None and short and (raw_from <= start or tier_from is None or tier_from >= raw_from)
    table = CELL_RAW if raw or tier_from is None else CELL_TIER
    grain = max(table.grain_s, GRAINS[choose_source("battery_pack", start, end)])
    step = step_for(start, end, points, grain)
    while _buckets(start, end, step) > points:
        step += grain
    split = end
    if table is CELL_TIER:
        opened = _open_from("battery_pack", cell.pack_id, timezone.now())
        if start < opened < end:
            split = datetime.fromtimestamp(int(opened.timestamp()) // step * step, UTC)
    buckets = bucket_rows(table, cell.pk, start, split, step, CELL_QUANTITIES)
    if split < end:
        buckets.update(bucket_rows(CELL_RAW, cell.pk, max(start, split), end, step, CELL_QUANTITIES))
    return {"kind": "cell", "device_id": cell.pk, "start": start, "end": end, "step_s": step,
            "source": "raw" if table is CELL_RAW else "tiers",
            "timezone": _timezone("battery_pack", cell.pack_id),
            "columns": CELL_QUANTITIES, "points": points_of(buckets, start, end, step, CELL_QUANTITIES)}


def _lowest(sql: str, params: list[Any]) -> tuple[datetime, str | None, float] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else (from_db(row[0]), row[1], float(row[2]))


def _lowest_in_tiers(pack: catalog.BatteryPack, start: datetime, end: datetime
                     ) -> tuple[datetime, str | None, float] | None:
    """The lowest cell of [start, end) from the tiers: the pack's slot of its lowest cell, then
    that slot's cell rows."""
    adapt = connection.ops.adapt_datetimefield_value
    slot = _lowest("SELECT ts, NULL, cell_voltage_min FROM battery_bank_samples_5min WHERE pack_id = %s "
                   "AND ts >= %s AND ts < %s AND cell_voltage_min IS NOT NULL "
                   "ORDER BY cell_voltage_min, ts LIMIT 1", [pack.pk, adapt(start), adapt(end)])
    if slot is None:
        return None
    return _lowest("SELECT ts, cell_id, voltage_min FROM battery_cell_samples_5min "
                   "WHERE ts = %s AND pack_id = %s AND voltage_min IS NOT NULL "
                   "ORDER BY voltage_min, cell_id LIMIT 1", [adapt(slot[0]), pack.pk])


def _whole_days(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[Day, Day] | None:
    """The first and last local day wholly inside [start, end), if any."""
    first = local_day(local_date(start, tz), tz)
    if first.start_utc < start:
        first = local_day(first.date + timedelta(days=1), tz)
    last = local_day(local_date(end - timedelta(microseconds=1), tz), tz)
    if last.end_utc > end:
        last = local_day(last.date - timedelta(days=1), tz)
    return (first, last) if first.date <= last.date else None


def _lowest_of(pack: catalog.BatteryPack, start: datetime, end: datetime
               ) -> list[tuple[datetime, str | None, float]]:
    """Candidates for the lowest cell of the closed range [start, end): the daily summary for its
    whole local days, the tiers for the rest."""
    days = _whole_days(start, end, ZoneInfo(_timezone("battery_pack", pack.pk)))
    if days is None:
        found = _lowest_in_tiers(pack, start, end)
        return [found] if found else []
    first, last = days
    adapt = connection.ops.adapt_datefield_value
    out = [_lowest("SELECT voltage_min_at, cell_id, voltage_min FROM battery_cell_daily WHERE pack_id = %s "
                   "AND date >= %s AND date <= %s AND voltage_min IS NOT NULL "
                   "ORDER BY voltage_min, voltage_min_at, cell_id LIMIT 1",
                   [pack.pk, adapt(first.date), adapt(last.date)])]
    if start < first.start_utc:
        out.append(_lowest_in_tiers(pack, start, first.start_utc))
    if last.end_utc < end:
        out.append(_lowest_in_tiers(pack, last.end_utc, end))
    return [f for f in out if f is not None]


def weakest_cell(pack: catalog.BatteryPack, start: datetime, end: datetime) -> dict[str, Any] | None:
    """The cell of ``pack`` that reached the lowest voltage in [start, end), when, and how low; None
    when no cell was read in the period."""
    adapt = connection.ops.adapt_datetimefield_value
    opened = _open_from("battery_pack", pack.pk, timezone.now())
    # As the series do: the tiers (and their daily summary) up to the open span, the raw rows after.
    split = opened if start < opened < end else end
    found = _lowest_of(pack, start, split) if split > start else []
    if split < end or not found:  # the last minutes, or cells the rollup has not reached yet
        low = "COALESCE(voltage_min, voltage)"
        recent = _lowest(f"SELECT ts, cell_id, {low} FROM battery_cell_samples WHERE pack_id = %s "
                         f"AND ts >= %s AND ts < %s AND {low} IS NOT NULL ORDER BY {low}, ts LIMIT 1",
                         [pack.pk, adapt(split if found else start), adapt(end)])
        if recent is not None:
            found.append(recent)
    if not found:
        return None
    at, cell_id, voltage = min(found, key=lambda f: (f[2], f[0]))
    cell = catalog.BatteryCell.objects.select_related("battery").get(pk=cell_id)
    return {"pack_id": pack.pk, "start": start, "end": end, "cell_id": cell.pk, "battery_id": cell.battery_id,
            "battery_index": cell.battery.battery_index, "cell_index": cell.cell_index,
            "voltage_v": round(voltage, 4), "at": at}
