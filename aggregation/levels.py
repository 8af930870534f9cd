"""The rows of every level for one day: inverters, arrays, the system, packs and meters."""

from __future__ import annotations

from typing import Any

from django.db import models

from aggregation import figures as fig
from aggregation import models as m
from aggregation.buckets import Hour
from aggregation.daydata import DayData
from aggregation.stats import Agg, avg, merge, peak_of_sums, soc_figures
from aggregation.topology import Topology
from aggregation.weather import add_weather_factors

Fields = fig.Fields
Rows = dict[type[models.Model], list[Fields]]
HourRows = dict[Hour, Fields]


def _hour_key(hour: Hour) -> Fields:
    return {"date": hour.date, "hour_start": hour.hour_start, "fold": hour.fold, "start_utc": hour.start_utc}


def _day_key(data: DayData) -> Fields:
    d = data.day.date
    return {"date": d, "day_of_year": d.timetuple().tm_yday, "year": d.year}


def build_rows(topo: Topology, data: DayData) -> Rows:
    """Every rollup row of the day, keyed by model."""
    rows: Rows = {model: [] for model in (
        m.InverterHourlyEnergy, m.ArrayHourlyEnergy, m.SystemHourlyEnergy, m.InverterDailySummary,
        m.ArrayDailySummary, m.SystemDailySummary, m.MeterHourlyEnergy, m.MeterDaily,
        m.BatteryBankHourly, m.BatteryBankDaily)}
    inverter_hours = _inverters(topo, data, rows)
    array_hours = _arrays(topo, data, inverter_hours, rows)
    _system(topo, data, array_hours, rows)
    _packs(topo, data, rows)
    _meters(topo, data, rows)
    for model in (m.InverterDailySummary, m.ArrayDailySummary, m.SystemDailySummary):
        if rows[model]:
            add_weather_factors(model, data.day.date, rows[model])
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
        day_agg = data.days["inv"][inv.pk]
        daily = fig.daily_summary(out[inv.pk], data.day.seconds, powers=fig.device_powers(day_agg),
                                  soc=soc_figures([day_agg]),
                                  capacity_kwh=topo.capacity(topo.packs_of(inv.array_id)))
        rows[m.InverterDailySummary].append({**scope, **_day_key(data), **daily})
    return out


def _grid_for_hour(data: DayData, meters: list[str], hour: Hour) -> Fields | None:
    aggs = [a for mt in meters if (a := data.hours["meter"].get(mt, {}).get(hour)) is not None]
    return fig.meter_grid(aggs, hour.seconds)


def _sum_level(data: DayData, children: list[HourRows], meters: list[str]) -> HourRows:
    """Sum child rows per hour; the grid from the meters when they have samples in the hour."""
    hours = sorted({h for child in children for h in child}, key=lambda h: h.start_utc)
    return {h: fig.with_grid(fig.sum_rows([c.get(h) for c in children]), _grid_for_hour(data, meters, h))
            for h in hours}


def _day_powers(data: DayData, members: list[str], meters: list[str]) -> Fields:
    """Peaks and averages of a sum of inverters; grid peaks from the meters when they have samples."""
    slots = data.quarter_members([("inv", i) for i in members])
    pv_max, _ = peak_of_sums(slots, "p_pv")
    load_max, _ = peak_of_sums(slots, "p_load")
    metered = [mt for mt in meters if mt in data.days["meter"]]
    if metered:
        merged = merge(data.days["meter"][mt] for mt in metered)
        top, bottom = merged.get("max_p_grid"), merged.get("min_p_grid")
    else:
        top, bottom = peak_of_sums(slots, "p_grid")
    days = [data.days["inv"][i] for i in members if i in data.days["inv"]]
    return {"pv_max_power_w": pv_max, "pv_avg_power_w": _sum_of_averages(days, "p_pv"),
            "load_max_power_w": load_max, "load_avg_power_w": _sum_of_averages(days, "p_load"),
            "grid_max_import_w": max(top, 0.0) if top is not None else None,
            "grid_max_export_w": max(-bottom, 0.0) if bottom is not None else None}


def _sum_of_averages(aggs: list[Agg], name: str) -> float | None:
    values = [v for a in aggs if (v := avg(a, name)) is not None]
    return sum(values) if values else None


def _soc(data: DayData, packs: list[Any], members: list[str]) -> tuple[Any, Any, Any]:
    """SOC from the packs backing the level, else from its inverters' own SOC readings."""
    from_packs = soc_figures([data.days["pack"][p.pk] for p in packs if p.pk in data.days["pack"]])
    if from_packs[0] is not None:
        return from_packs
    return soc_figures([data.days["inv"][i] for i in members if i in data.days["inv"]])


def _arrays(topo: Topology, data: DayData, inverter_hours: dict[str, HourRows], rows: Rows
            ) -> dict[str, tuple[HourRows, list[str]]]:
    out: dict[str, tuple[HourRows, list[str]]] = {}
    for arr in topo.arrays:
        members = topo.members(arr.pk)
        children = [inverter_hours.get(i, {}) for i in members]
        if not any(children):
            continue
        meters = topo.array_meters(arr.pk)
        hours = _sum_level(data, children, meters)
        out[arr.pk] = (hours, members)
        scope = {"array_id": arr.pk, "system_id": arr.system_id}
        rows[m.ArrayHourlyEnergy] += [{**scope, **_hour_key(h), **f} for h, f in hours.items()]
        packs = topo.packs_of(arr.pk)
        daily = fig.daily_summary(hours, data.day.seconds, powers=_day_powers(data, members, meters),
                                  soc=_soc(data, packs, members), capacity_kwh=topo.capacity(packs))
        grid = "meter" if any(f["grid_source"] == "meter" for f in hours.values()) else "inverters"
        rows[m.ArrayDailySummary].append({**scope, **_day_key(data), **daily, "grid_source": grid})
    return out


def _system(topo: Topology, data: DayData, arrays: dict[str, tuple[HourRows, list[str]]], rows: Rows) -> None:
    if not arrays:
        return
    # Arrays already carry their own meters' grid figures; a system meter replaces their sum.
    array_rows = [{h: {k: v for k, v in f.items() if k != "grid_source"} for h, f in hours.items()}
                  for hours, _ in arrays.values()]
    meters = topo.system_meters()
    hours = _sum_level(data, array_rows, meters)
    scope = {"system_id": topo.system.pk}
    rows[m.SystemHourlyEnergy] += [{**scope, **_hour_key(h), **f} for h, f in hours.items()]
    members = [i for _, inv in arrays.values() for i in inv]
    daily = fig.daily_summary(hours, data.day.seconds, powers=_day_powers(data, members, meters),
                              soc=_soc(data, topo.packs_of(None), members),
                              capacity_kwh=topo.capacity(topo.packs))
    grid = "meter" if any(f["grid_source"] == "meter" for f in hours.values()) else "inverters"
    rows[m.SystemDailySummary].append({**scope, **_day_key(data), **daily, "grid_source": grid})


def _packs(topo: Topology, data: DayData, rows: Rows) -> None:
    for pack in topo.packs:
        hours = data.hours["pack"].get(pack.pk)
        if not hours:
            continue
        scope = {"pack_id": pack.pk, "battery_array_id": pack.battery_array_id, "system_id": pack.system_id}
        rows[m.BatteryBankHourly] += [{**scope, **_hour_key(h), **fig.pack_hourly(a, h.seconds)}
                                      for h, a in hours.items()]
        daily = fig.pack_daily(data.days["pack"][pack.pk], data.day.seconds, pack.nominal_kwh)
        rows[m.BatteryBankDaily].append({**scope, **_day_key(data), **daily})


def _meters(topo: Topology, data: DayData, rows: Rows) -> None:
    for meter in topo.meters:
        hours = data.hours["meter"].get(meter.pk)
        if not hours:
            continue
        scope = {"meter_id": meter.pk, "system_id": meter.system_id, "array_id": meter.array_id}
        rows[m.MeterHourlyEnergy] += [{**scope, **_hour_key(h), **fig.meter_hourly(a, h.seconds)}
                                      for h, a in hours.items()]
        rows[m.MeterDaily].append({**scope, "day": data.day.date,
                                   **fig.meter_daily(data.days["meter"][meter.pk], data.day.seconds)})
