"""A site with whole days of plant-model samples, rolled up: what the history page charts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.simulators.plant import Plant, PlantParams
from aggregation.rollups import rollup_day
from telemetry import models as t
from tests import factories as f

TZ = "Asia/Karachi"
STEP = timedelta(seconds=20)  # within the rollups' gap limit (a few poll intervals)


def make_site() -> dict[str, Any]:
    """One system: an array with one inverter, a pack attached to it and a grid meter."""
    sys = f.system("system", name="Rooftop", timezone=TZ)
    arr = f.array("array1", sys, name="Roof")
    inv = f.inverter("inv1", arr, name="Main inverter", rated_power_w=8000)
    ba = f.battery_array("battery_array1", sys)
    pack = f.pack("pack1", ba, name="Garage pack", nominal_kwh=10.0)
    f.attach(ba, arr)
    meter = f.meter("grid_meter_1", sys, name="Grid meter", type="grid")
    return {"system": sys, "array": arr, "inverter": inv, "pack": pack, "meter": meter}


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(TZ)).replace(hour=hour).astimezone(UTC)


def write_hours(site: dict[str, Any], day: date, first_hour: int, hours: int) -> Plant:
    """Samples over ``hours`` local hours of ``day`` from ``first_hour``, then the day's rollups."""
    start = local(day, first_hour)
    return write_between(site, day, start, start + timedelta(hours=hours))


def write_between(site: dict[str, Any], day: date, start: datetime, end: datetime, *, rollup: bool = True
                  ) -> Plant:
    """Samples every ``STEP`` from ``start`` to before ``end``, and (``rollup``) the day's rollups."""
    plant = Plant(PlantParams(), start=local(day, 0), clock=lambda: start)
    inv, pack, meter = site["inverter"], site["pack"], site["meter"]
    rows: dict[Any, list[Any]] = {t.EnergySample: [], t.MeterSample: [], t.BatteryBankSample: []}
    ts = start
    while ts < end:
        s = plant.state(ts)
        rows[t.EnergySample].append(t.EnergySample(
            ts=ts, inverter=inv, array_id=inv.array_id, system_id=inv.system_id, soc=round(s.soc, 2),
            pv_power_w=round(s.pv_w), load_power_w=round(s.load_w), batt_power_w=round(s.battery_w),
            grid_power_w=round(s.grid_w), pv_total_kwh=round(s.pv_kwh, 3),
            load_total_kwh=round(s.load_kwh, 3),
            batt_charge_total_kwh=round(s.charge_kwh, 3), batt_discharge_total_kwh=round(s.discharge_kwh, 3),
            grid_import_total_kwh=round(s.import_kwh, 3), grid_export_total_kwh=round(s.export_kwh, 3)))
        rows[t.MeterSample].append(t.MeterSample(
            ts=ts, meter=meter, system_id=meter.system_id, grid_power_w=round(s.grid_w), grid_voltage_v=230.0,
            grid_import_wh=round(s.import_kwh * 1000), grid_export_wh=round(s.export_kwh * 1000)))
        rows[t.BatteryBankSample].append(t.BatteryBankSample(
            ts=ts, pack=pack, battery_array_id=pack.battery_array_id, system_id=pack.system_id, voltage=52.0,
            current=round(s.battery_w / 52.0, 2), power_w=round(s.battery_w), soc=round(s.soc, 2)))
        ts += STEP
    for model, objs in rows.items():
        model._default_manager.bulk_create(objs)
    if rollup:
        rollup_day("system", day)
    return plant
