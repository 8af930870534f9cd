"""Rows of the history charts: a day's hours or a month's days of one system, array, inverter, pack or meter.

The chart, its table and the CSV download all come from :func:`history_rows`, so what is
downloaded is exactly what is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import BadRequest
from django.db import models
from django.db.models import Sum
from django.http import Http404, QueryDict

from aggregation import models as agg
from aggregation.selectors import open_span, today_energy
from catalog import models as catalog
from solarmon.dashboard.systems import local_today


@dataclass(frozen=True)
class Series:
    """One column of the rollup table, drawn as bars (energy) or a line (state of charge)."""

    column: str
    name: str
    color: str
    unit: str = "kWh"
    kind: str = "bar"
    flow: str = ""  # the flow of aggregation.selectors.today_energy it is, for today's live row


PV = Series("solar_energy_kwh", "PV", "#e0a100", flow="pv")
LOAD = Series("load_energy_kwh", "Load", "#3d6fb6", flow="load")
IMPORT = Series("grid_import_energy_kwh", "Import", "#c0392b", flow="import")
EXPORT = Series("grid_export_energy_kwh", "Export", "#2e9d57", flow="export")
CHARGE = Series("battery_charge_energy_kwh", "Charge", "#8e44ad", flow="charge")
DISCHARGE = Series("battery_discharge_energy_kwh", "Discharge", "#13948a", flow="discharge")
ENERGY_HOURLY = (PV, LOAD, IMPORT, EXPORT, CHARGE, DISCHARGE)
# The daily tables name the same flows differently and have no battery energy: that comes
# from the hourly rows of the same date, summed.
ENERGY_DAILY = (Series("pv_energy_kwh", "PV", PV.color, flow="pv"),
                Series("load_energy_kwh", "Load", LOAD.color, flow="load"),
                Series("grid_energy_imported_kwh", "Import", IMPORT.color, flow="import"),
                Series("grid_energy_exported_kwh", "Export", EXPORT.color, flow="export"), CHARGE, DISCHARGE)
BATTERY_FROM_HOURS = (CHARGE, DISCHARGE)
PACK_CHARGE = Series("charge_energy_kwh", "Charge", CHARGE.color, flow="charge")
PACK_DISCHARGE = Series("discharge_energy_kwh", "Discharge", DISCHARGE.color, flow="discharge")
PACK_HOURLY = (PACK_CHARGE, PACK_DISCHARGE, Series("avg_soc_pct", "Average SOC", "#444444", "%", "line"))
PACK_DAILY = (PACK_CHARGE, PACK_DISCHARGE, Series("min_soc_pct", "Min SOC", "#999999", "%", "line"),
              Series("max_soc_pct", "Max SOC", "#444444", "%", "line"))
METER_SERIES = (Series("import_energy_kwh", "Import", IMPORT.color, flow="import"),
                Series("export_energy_kwh", "Export", EXPORT.color, flow="export"))


@dataclass(frozen=True)
class Level:
    """Where one level's rows live and which series it shows."""

    label: str
    device: type[models.Model]
    hourly: type[models.Model]
    daily: type[models.Model]
    key: str
    hourly_series: tuple[Series, ...]
    daily_series: tuple[Series, ...]
    day_field: str = "date"


LEVELS: dict[str, Level] = {
    "system": Level("System", catalog.System, agg.SystemHourlyEnergy, agg.SystemDailySummary, "system",
                    ENERGY_HOURLY, ENERGY_DAILY),
    "array": Level("Array", catalog.InverterArray, agg.ArrayHourlyEnergy, agg.ArrayDailySummary, "array",
                   ENERGY_HOURLY, ENERGY_DAILY),
    "inverter": Level("Inverter", catalog.Inverter, agg.InverterHourlyEnergy, agg.InverterDailySummary,
                      "inverter", ENERGY_HOURLY, ENERGY_DAILY),
    "pack": Level("Battery pack", catalog.BatteryPack, agg.BatteryBankHourly, agg.BatteryBankDaily, "pack",
                  PACK_HOURLY, PACK_DAILY),
    "meter": Level("Meter", catalog.Meter, agg.MeterHourlyEnergy, agg.MeterDaily, "meter",
                   METER_SERIES, METER_SERIES, day_field="day"),
}


@dataclass(frozen=True)
class HistoryQuery:
    """What to show: a level and device of one system, and a day (hourly) or a month (daily)."""

    system: catalog.System
    level: str
    device_id: str
    period: str  # "day" or "month"
    day: date
    month: date  # the first of the month

    @property
    def series(self) -> tuple[Series, ...]:
        level = LEVELS[self.level]
        return level.hourly_series if self.period == "day" else level.daily_series

    @property
    def title(self) -> str:
        when = self.day.isoformat() if self.period == "day" else self.month.strftime("%B %Y")
        return f"{'Hours of' if self.period == 'day' else 'Days of'} {when}"

    def querystring(self, step: int = 0) -> str:
        """The query string that shows this again, or the day (month) ``step`` before or after it."""
        day, month = self.day, self.month
        if self.period == "day":
            day = day + timedelta(days=step)
        else:
            month = _shift_month(month, step)
        return urlencode({"system": self.system.pk, "target": f"{self.level}:{self.device_id}",
                          "period": self.period, "day": day.isoformat(), "month": month.strftime("%Y-%m")})


# Days the history can show: wide enough for any installation, narrow enough that the page's
# previous/next links and local-time arithmetic never leave the calendar.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)


def _parse_date(text: str, default: date, name: str) -> date:
    """``text`` as a date, ``default`` when unreadable; a date outside the calendar is a 400."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return default
    if not FIRST_DAY <= value <= LAST_DAY:
        raise BadRequest(f"{name} must be between {FIRST_DAY} and {LAST_DAY}, not {text}")
    return value


def parse_query(system: catalog.System, params: QueryDict) -> HistoryQuery:
    """Read the page's form; missing or unreadable fields take defaults, an unknown device is a 404."""
    today = local_today(system)
    level, _, device_id = params.get("target", "system:").partition(":")
    if level not in LEVELS:
        level, device_id = "system", ""
    if level == "system":
        device_id = system.pk
    elif not LEVELS[level].device._default_manager.filter(pk=device_id, system=system).exists():
        raise Http404(f"no {level} {device_id!r} in system {system.pk!r}")
    day = _parse_date(params.get("day", ""), today, "day")
    month = _parse_date(params.get("month", "") + "-01", today.replace(day=1), "month").replace(day=1)
    period = "month" if params.get("period") == "month" else "day"
    return HistoryQuery(system, level, device_id, period, day, month)


def _shift_month(first: date, step: int) -> date:
    index = first.year * 12 + first.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def _next_month(first: date) -> date:
    return _shift_month(first, 1)


def _values(row: dict[str, Any], series: tuple[Series, ...]) -> dict[str, float | None]:
    return {s.column: None if row.get(s.column) is None else round(row[s.column], 3) for s in series}


def _hourly(query: HistoryQuery, level: Level, now: datetime | None) -> list[dict[str, Any]]:
    """The day's stored hours, and from where the rollups' open span starts, its hours built on read
    (so the current hour shows the same however far the periodic rollup has closed it)."""
    scope = {f"{level.key}_id": query.device_id, "date": query.day}
    rows: Any = level.hourly._default_manager.filter(**scope)
    found = list(rows.order_by("start_utc").values())
    if query.day >= local_today(query.system, now) - timedelta(days=1):
        live = open_span(query.system, now)
        found = [r for r in found if r["start_utc"] < live.start] + live.rows_of(level.hourly, **scope)
    return [{"date": row["date"].isoformat(), "hour": row["hour_start"], "fold": row["fold"],
             "label": f"{row['hour_start']:02d}:00" + (" (2nd)" if row["fold"] else ""),
             "values": _values(row, query.series)}
            for row in found]


def _battery_by_date(query: HistoryQuery, level: Level) -> dict[date, dict[str, Any]]:
    sums = (level.hourly._default_manager
            .filter(**{f"{level.key}_id": query.device_id, "date__gte": query.month,
                       "date__lt": _next_month(query.month)})
            .values("date").annotate(**{s.column: Sum(s.column) for s in BATTERY_FROM_HOURS}))
    return {row["date"]: row for row in sums}


def _daily(query: HistoryQuery, level: Level, now: datetime | None) -> list[dict[str, Any]]:
    """The month's stored days; today's energy live (``today_energy``), as the overview shows it,
    rather than its daily row's (rebuilt once an hour, from however far the rollup has closed)."""
    field = level.day_field
    rows = level.daily._default_manager.filter(**{
        f"{level.key}_id": query.device_id, f"{field}__gte": query.month,
        f"{field}__lt": _next_month(query.month)}).order_by(field)
    battery = _battery_by_date(query, level) if level.daily_series is ENERGY_DAILY else {}
    out = []
    for row in rows:
        day = getattr(row, field)
        values = _values(vars(row), query.series)
        for s in BATTERY_FROM_HOURS if battery else ():
            total = battery.get(day, {}).get(s.column)
            values[s.column] = None if total is None else round(total, 3)
        if day == local_today(query.system, now):
            target: Any = level.device._default_manager.get(pk=query.device_id)
            live = today_energy(target, now)
            values.update({s.column: live[s.flow] for s in query.series if s.flow})
        out.append({"date": day.isoformat(), "label": day.isoformat(), "values": values})
    return out


def history_rows(query: HistoryQuery, now: datetime | None = None) -> list[dict[str, Any]]:
    """The rows shown: one per hour of the day, or one per stored day of the month."""
    level = LEVELS[query.level]
    return _hourly(query, level, now) if query.period == "day" else _daily(query, level, now)


def chart_data(query: HistoryQuery, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the page's chart script draws: labels and one list of values per series."""
    return {"labels": [row["label"] for row in rows],
            "series": [{"key": s.column, "name": s.name, "color": s.color, "unit": s.unit, "kind": s.kind,
                        "values": [row["values"][s.column] for row in rows]} for s in query.series]}


def table_rows(query: HistoryQuery, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as the page's table shows them: a label and one cell per series."""
    return [{"label": row["label"], "cells": [row["values"][s.column] for s in query.series]} for row in rows]


def csv_header(query: HistoryQuery) -> list[str]:
    head = ["date", "hour"] if query.period == "day" else ["date"]
    return head + [f"{s.name} ({s.unit})" for s in query.series]


def csv_rows(query: HistoryQuery, rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The rows as CSV cells: date (and local hour), then each series; empty for no value."""
    out = []
    for row in rows:
        head = [row["date"], row["label"]] if query.period == "day" else [row["date"]]
        out.append(head + ["" if row["values"][s.column] is None else row["values"][s.column]
                           for s in query.series])
    return out


def targets(system: catalog.System) -> list[tuple[str, str]]:
    """Every (value, label) the page's device picker offers: the system, then each level's devices."""
    out = [(f"system:{system.pk}", f"System: {system.name}")]
    for name, level in LEVELS.items():
        if name == "system":
            continue
        devices: Any = level.device._default_manager.filter(system=system).order_by("pk")
        for device in devices:
            out.append((f"{name}:{device.pk}", f"{level.label}: {device.name} ({device.pk})"))
    return out
