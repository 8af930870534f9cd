"""Hours of days whose raw samples the original had pruned: its ``hourly_energy`` rows are all
that is left, so they are imported with ``source = 'imported'``.

They carry the original's own figures, with its known faults: each hour misses the interval that
straddles its start (about −0.6 % at 20 s polling), and Powdrive's battery charge and discharge
are swapped (its current register is + = discharging), which is undone here. Arrays, the system
and the daily rows of such a day are the sums of these hours. Hours in which the original had no
samples (``sample_count`` 0) hold nothing and are not imported. Days with samples are never
taken from the original's tables: solarmon recomputes them.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models, transaction

from aggregation import models as am
from aggregation.choices import GridSource, Source
from catalog.models import System
from legacy.placement import DEYE_FAMILY, Placement
from legacy.rollups import write_imported
from legacy.scan import Scan
from legacy.source import Shape, explain

ENERGY = ("solar_energy_kwh", "load_energy_kwh", "battery_charge_energy_kwh", "battery_discharge_energy_kwh",
          "grid_import_energy_kwh", "grid_export_energy_kwh")
POWER = ("avg_solar_power_w", "avg_load_power_w", "avg_battery_power_w", "avg_grid_power_w")
DAILY = {"pv_energy_kwh": "solar_energy_kwh", "load_energy_kwh": "load_energy_kwh",
         "grid_energy_imported_kwh": "grid_import_energy_kwh",
         "grid_energy_exported_kwh": "grid_export_energy_kwh"}
Fields = dict[str, Any]


def pruned_hours(conn: sqlite3.Connection, shape: Shape, path: Path, scan: Scan, placement: Placement
                 ) -> dict[tuple[str, date], list[Fields]]:
    """Per (system, local date): the inverter hours to import (days with no samples of the inverter)."""
    if not shape.has("hourly_energy"):
        return {}
    columns = ", ".join(f"h.{c}" if shape.has("hourly_energy", c) else "NULL" for c in (*ENERGY, *POWER))
    sampled = {dev: set(days) for dev, days in scan.days.get("energy_samples", {}).items()}
    out: dict[tuple[str, date], list[Fields]] = defaultdict(list)
    try:
        rows = conn.execute(f"SELECT h.inverter_id, h.date, h.hour_start, h.sample_count, {columns} FROM "
                            "legacy.hourly_energy h WHERE h.sample_count > 0 ORDER BY 1, 2, 3").fetchall()
    except sqlite3.Error as exc:
        raise explain(path, exc, "table hourly_energy") from exc
    for inverter, day_text, hour, count, *values in rows:
        if inverter not in placement.inverters or day_text in sampled.get(inverter, set()):
            continue
        inverter_id, array_id, system_id = placement.inverters[inverter]
        figures = dict(zip((*ENERGY, *POWER), values, strict=True))
        if placement.vendors.get(inverter) in DEYE_FAMILY:
            # The original integrated Powdrive's raw current (+ = discharging): swap back.
            figures["battery_charge_energy_kwh"], figures["battery_discharge_energy_kwh"] = (
                figures["battery_discharge_energy_kwh"], figures["battery_charge_energy_kwh"])
            if figures["avg_battery_power_w"] is not None:
                figures["avg_battery_power_w"] = -figures["avg_battery_power_w"]
        out[(system_id, date.fromisoformat(day_text))].append(
            {"inverter_id": inverter_id, "array_id": array_id, "system_id": system_id,
             "hour_start": int(hour), "sample_count": int(count), **figures})
    return dict(out)


def import_pruned_days(days: dict[tuple[str, date], list[Fields]]) -> int:
    """Write the hours (and their array, system and daily sums); hourly rows written."""
    written = 0
    for (system_id, day), hours in sorted(days.items()):
        system = System.objects.get(pk=system_id)
        with transaction.atomic():
            counts = write_imported(system, day, _rows(system, day, hours))
        written += counts[am.InverterHourlyEnergy._meta.db_table]
    return written


def _rows(system: System, day: date, hours: list[Fields]) -> dict[type[models.Model], list[Fields]]:
    zone = ZoneInfo(system.timezone)
    stamp = {"source": Source.IMPORTED, "date": day, "fold": 0}
    inverter_rows = []
    arrays: dict[tuple[str, int], Fields] = {}
    totals: dict[int, Fields] = {}
    for hour in hours:
        start = datetime(day.year, day.month, day.day, hour["hour_start"], tzinfo=zone).astimezone(UTC)
        row = {**hour, **stamp, "start_utc": start, "coverage": 1.0}
        inverter_rows.append(row)
        level = {**stamp, "system_id": system.pk, "hour_start": hour["hour_start"], "start_utc": start,
                 "coverage": 1.0, "grid_source": GridSource.INVERTERS}
        key = (hour["array_id"], hour["hour_start"])
        _add(arrays.setdefault(key, {**level, "array_id": hour["array_id"]}), row)
        _add(totals.setdefault(hour["hour_start"], dict(level)), row)
    return {am.InverterHourlyEnergy: inverter_rows, am.ArrayHourlyEnergy: list(arrays.values()),
            am.SystemHourlyEnergy: list(totals.values()),
            am.InverterDailySummary: _daily(day, inverter_rows, ("inverter_id", "array_id", "system_id")),
            am.ArrayDailySummary: _daily(day, list(arrays.values()), ("array_id", "system_id"), grid=True),
            am.SystemDailySummary: _daily(day, list(totals.values()), ("system_id",), grid=True)}


def _add(into: Fields, row: Fields) -> None:
    for name in (*ENERGY, *POWER, "sample_count"):
        if row.get(name) is not None:
            into[name] = (into.get(name) or 0) + row[name]


def _daily(day: date, hours: list[Fields], keys: tuple[str, ...], grid: bool = False) -> list[Fields]:
    days: dict[tuple[Any, ...], Fields] = {}
    for hour in hours:
        key = tuple(hour[k] for k in keys)
        into = days.setdefault(key, {**dict(zip(keys, key, strict=True)), "date": day,
                                     "day_of_year": day.timetuple().tm_yday, "year": day.year,
                                     "source": Source.IMPORTED, "coverage": 0.0, "sample_count": 0,
                                     **({"grid_source": GridSource.INVERTERS} if grid else {})})
        for daily, hourly in DAILY.items():
            if hour.get(hourly) is not None:
                into[daily] = (into.get(daily) or 0.0) + hour[hourly]
        into["sample_count"] += hour.get("sample_count") or 0
        into["coverage"] += 1 / 24
    return list(days.values())
