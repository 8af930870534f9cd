"""The rows of every level for one day: inverters, arrays, the system, packs and meters.

Hourly rows come from the hours' aggregates (:func:`build_hourly`). Daily rows come from the
day's hourly rows of each level plus day-wide figures (each device's aggregate of the day, the
quarter hours of the inverters for the peaks of sums; :func:`build_daily`), so the periodic
rollup can rebuild a day's daily rows from the hourly rows already stored, without the day's
slots. :func:`build_rows` does both from one :class:`DayData`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from django.db import models

from aggregation import figures as fig
from aggregation import models as m
from aggregation.buckets import Day, Hour
from aggregation.daydata import DayData
from aggregation.stats import Agg, avg, merge, peak_of_sums, soc_figures
from aggregation.topology import Topology
from aggregation.weather import add_weather_factors

Fields = fig.Fields
Rows = dict[type[models.Model], list[Fields]]
HourRows = dict[Hour, Fields]
HOURLY = (m.InverterHourlyEnergy, m.ArrayHourlyEnergy, m.SystemHourlyEnergy, m.MeterHourlyEnergy,
          m.BatteryBankHourly)
DAILY = (m.InverterDailySummary, m.ArrayDailySummary, m.SystemDailySummary, m.MeterDaily, m.BatteryBankDaily)
# hourly model of a level → the level's id column
LEVEL_KEYS = {m.InverterHourlyEnergy: "inverter_id", m.ArrayHourlyEnergy: "array_id",
              m.SystemHourlyEnergy: "system_id"}


class DaySummary(Protocol):
    """What daily rows need besides the hourly rows: per device its day, and quarter hours."""

    day: Day
    days: dict[str, dict[str, Agg]]

    def quarter_members(self, members: list[tuple[str, str]]) -> list[list[Agg]]: ...


def _hour_key(hour: Hour) -> Fields:
    return {"date": hour.date, "hour_start": hour.hour_start, "fold": hour.fold, "start_utc": hour.start_utc}


def _day_key(day: Day) -> Fields:
    d = day.date
    return {"date": d, "day_of_year": d.timetuple().tm_yday, "year": d.year}


def build_rows(topo: Topology, data: DayData) -> Rows:
    """Every rollup row of the day, keyed by model."""
    rows = build_hourly(topo, data)
    rows.update(build_daily(topo, data, hours_by_level(data.day, rows)))
    return rows


def hours_by_level(day: Day, rows: Rows | dict[type[models.Model], Iterable[Fields]]
                   ) -> dict[type[models.Model], dict[str, HourRows]]:
    """Hourly rows of the inverters, arrays and system, per id and local hour of ``day``."""
    hours = {(h.hour_start, h.fold): h for h in day.hours}
    out: dict[type[models.Model], dict[str, HourRows]] = {}
    for model, key in LEVEL_KEYS.items():
        by_id: dict[str, HourRows] = {}
        for row in rows.get(model, ()):
            hour = hours.get((row["hour_start"], row["fold"]))
            if hour is not None:
                by_id.setdefault(row[key], {})[hour] = row
        out[model] = {i: dict(sorted(h.items(), key=lambda kv: kv[0].start_utc)) for i, h in by_id.items()}
    return out


# ---- hourly ------------------------------------------------------------------------------
def build_hourly(topo: Topology, data: DayData) -> Rows:
    """The hourly rows of every level for the hours ``data`` holds."""
    rows: Rows = {model: [] for model in HOURLY}
    inverter_hours = _inverters(topo, data, rows)
    array_hours = _arrays(topo, data, inverter_hours, rows)
    _system(topo, data, array_hours, rows)
    _packs(topo, data, rows)
    _meters(topo, data, rows)
    return rows


def _inverters(topo: Topology, data: DayData, rows: Rows) -> dict[str, HourRows]:
    out: dict[str, HourRows] = {}
    for inv in topo.inverters:
        hours = data.hours["inv"].get(inv.pk)
        if not hours:
            continue
        scope = {"inverter_id": inv.pk, "array_id": inv.array_id, "system_id": inv.system_id}
        out[inv.pk] = {h: fig.hourly_energy(agg, h.seconds) for h, agg in hours.items()}
        rows[m.InverterHourlyEnergy] += [{**scope, **_hour_key(h), **f} for h, f in out[inv.pk].items()]
    return out


def _grid_for_hour(data: DayData, meters: list[str], hour: Hour) -> Fields | None:
    aggs = [a for mt in meters if (a := data.hours["meter"].get(mt, {}).get(hour)) is not None]
    return fig.meter_grid(aggs, hour.seconds)


def _sum_level(data: DayData, children: list[HourRows], meters: list[str]) -> HourRows:
    """Sum child rows per hour; the grid from the meters when they have samples in the hour."""
    hours = sorted({h for child in children for h in child}, key=lambda h: h.start_utc)
    return {h: fig.with_grid(fig.sum_rows([c.get(h) for c in children]), _grid_for_hour(data, meters, h))
            for h in hours}


def _arrays(topo: Topology, data: DayData, inverter_hours: dict[str, HourRows], rows: Rows
            ) -> dict[str, HourRows]:
    out: dict[str, HourRows] = {}
    for arr in topo.arrays:
        children = [inverter_hours.get(i, {}) for i in topo.members(arr.pk)]
        if not any(children):
            continue
        out[arr.pk] = _sum_level(data, children, topo.array_meters(arr.pk))
        scope = {"array_id": arr.pk, "system_id": arr.system_id}
        rows[m.ArrayHourlyEnergy] += [{**scope, **_hour_key(h), **f} for h, f in out[arr.pk].items()]
    return out


def _system(topo: Topology, data: DayData, arrays: dict[str, HourRows], rows: Rows) -> None:
    if not arrays:
        return
    # Arrays already carry their own meters' grid figures; a system meter replaces their sum.
    array_rows = [{h: {k: v for k, v in f.items() if k != "grid_source"} for h, f in hours.items()}
                  for hours in arrays.values()]
    hours = _sum_level(data, array_rows, topo.system_meters())
    scope = {"system_id": topo.system.pk}
    rows[m.SystemHourlyEnergy] += [{**scope, **_hour_key(h), **f} for h, f in hours.items()]


def _packs(topo: Topology, data: DayData, rows: Rows) -> None:
    for pack in topo.packs:
        hours = data.hours["pack"].get(pack.pk)
        if hours:
            scope = {"pack_id": pack.pk, "battery_array_id": pack.battery_array_id,
                     "system_id": pack.system_id}
            rows[m.BatteryBankHourly] += [{**scope, **_hour_key(h), **fig.pack_hourly(a, h.seconds)}
                                          for h, a in hours.items()]


def _meters(topo: Topology, data: DayData, rows: Rows) -> None:
    for meter in topo.meters:
        hours = data.hours["meter"].get(meter.pk)
        if hours:
            scope = {"meter_id": meter.pk, "system_id": meter.system_id, "array_id": meter.array_id}
            rows[m.MeterHourlyEnergy] += [{**scope, **_hour_key(h), **fig.meter_hourly(a, h.seconds)}
                                          for h, a in hours.items()]


# ---- daily -------------------------------------------------------------------------------
def build_daily(topo: Topology, summary: DaySummary, hours: dict[type[models.Model], dict[str, HourRows]]
                ) -> Rows:
    """The daily rows of every level, from the day's hourly rows (``hours``) and ``summary``."""
    rows: Rows = {model: [] for model in DAILY}
    day = summary.day
    for inv in topo.inverters:
        inv_hours = hours[m.InverterHourlyEnergy].get(inv.pk)
        day_agg = summary.days["inv"].get(inv.pk)
        if not inv_hours or day_agg is None:
            continue
        scope = {"inverter_id": inv.pk, "array_id": inv.array_id, "system_id": inv.system_id}
        daily = fig.daily_summary(inv_hours, day.seconds, powers=fig.device_powers(day_agg),
                                  soc=soc_figures([day_agg]),
                                  capacity_kwh=topo.capacity(topo.packs_of(inv.array_id)))
        rows[m.InverterDailySummary].append({**scope, **_day_key(day), **daily})
    for arr in topo.arrays:
        arr_hours = hours[m.ArrayHourlyEnergy].get(arr.pk)
        if not arr_hours:
            continue
        members, packs = topo.members(arr.pk), topo.packs_of(arr.pk)
        daily = fig.daily_summary(arr_hours, day.seconds,
                                  powers=_day_powers(summary, members, topo.array_meters(arr.pk)),
                                  soc=_soc(summary, packs, members), capacity_kwh=topo.capacity(packs))
        rows[m.ArrayDailySummary].append({"array_id": arr.pk, "system_id": arr.system_id, **_day_key(day),
                                          **daily, "grid_source": _grid_source(arr_hours)})
    system_hours = hours[m.SystemHourlyEnergy].get(topo.system.pk)
    if system_hours:
        members = [i.pk for i in topo.inverters]
        daily = fig.daily_summary(system_hours, day.seconds,
                                  powers=_day_powers(summary, members, topo.system_meters()),
                                  soc=_soc(summary, topo.packs_of(None), members),
                                  capacity_kwh=topo.capacity(topo.packs))
        rows[m.SystemDailySummary].append({"system_id": topo.system.pk, **_day_key(day), **daily,
                                           "grid_source": _grid_source(system_hours)})
    for pack in topo.packs:
        if (agg := summary.days["pack"].get(pack.pk)) is not None:
            rows[m.BatteryBankDaily].append({"pack_id": pack.pk, "battery_array_id": pack.battery_array_id,
                                             "system_id": pack.system_id, **_day_key(day),
                                             **fig.pack_daily(agg, day.seconds, pack.nominal_kwh)})
    for meter in topo.meters:
        if (agg := summary.days["meter"].get(meter.pk)) is not None:
            rows[m.MeterDaily].append({"meter_id": meter.pk, "system_id": meter.system_id,
                                       "array_id": meter.array_id, "day": day.date,
                                       **fig.meter_daily(agg, day.seconds)})
    for model in (m.InverterDailySummary, m.ArrayDailySummary, m.SystemDailySummary):
        if rows[model]:
            add_weather_factors(model, day.date, rows[model])
    return rows


def _grid_source(hours: HourRows) -> str:
    return "meter" if any(f.get("grid_source") == "meter" for f in hours.values()) else "inverters"


def _day_powers(summary: DaySummary, members: list[str], meters: list[str]) -> Fields:
    """Peaks and averages of a sum of inverters; grid peaks from the meters when they have samples."""
    quarters = summary.quarter_members([("inv", i) for i in members])
    pv_max, _ = peak_of_sums(quarters, "p_pv")
    load_max, _ = peak_of_sums(quarters, "p_load")
    metered = [mt for mt in meters if mt in summary.days["meter"]]
    if metered:
        merged = merge(summary.days["meter"][mt] for mt in metered)
        top, bottom = merged.get("max_p_grid"), merged.get("min_p_grid")
    else:
        top, bottom = peak_of_sums(quarters, "p_grid")
    days = [summary.days["inv"][i] for i in members if i in summary.days["inv"]]
    return {"pv_max_power_w": pv_max, "pv_avg_power_w": _sum_of_averages(days, "p_pv"),
            "load_max_power_w": load_max, "load_avg_power_w": _sum_of_averages(days, "p_load"),
            "grid_max_import_w": max(top, 0.0) if top is not None else None,
            "grid_max_export_w": max(-bottom, 0.0) if bottom is not None else None}


def _sum_of_averages(aggs: list[Agg], name: str) -> float | None:
    values = [v for a in aggs if (v := avg(a, name)) is not None]
    return sum(values) if values else None


def _soc(summary: DaySummary, packs: list[Any], members: list[str]) -> tuple[Any, Any, Any]:
    """SOC from the packs backing the level, else from its inverters' own SOC readings."""
    from_packs = soc_figures([summary.days["pack"][p.pk] for p in packs if p.pk in summary.days["pack"]])
    if from_packs[0] is not None:
        return from_packs
    return soc_figures([summary.days["inv"][i] for i in members if i in summary.days["inv"]])
