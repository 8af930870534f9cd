"""Sample rows generated from the plant model, inserted directly (the pipeline has its own tests)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.simulators.plant import Plant, PlantParams, PlantState
from catalog import models as catalog
from telemetry import models as t

STEP_S = 5


def plant_for(start: datetime, **params: float) -> Plant:
    """A plant whose history starts at ``start``; its clock is never used."""
    return Plant(PlantParams(**params), start=start, clock=lambda: start)  # type: ignore[arg-type]


def times(start: datetime, end: datetime, step_s: int = STEP_S) -> Iterator[datetime]:
    ts = start
    while ts <= end:
        yield ts
        ts += timedelta(seconds=step_s)


def local_bounds(day: str, tz: str) -> tuple[datetime, datetime]:
    """UTC bounds of a local date."""
    d = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(tz))
    return d.astimezone(UTC), (d + timedelta(days=1)).astimezone(UTC)


def inverter_sample(inv: catalog.Inverter, s: PlantState, *, counters: bool = True,
                    powers: bool = True, today_base: PlantState | None = None) -> t.EnergySample:
    """One inverter row. With ``today_base``, counters are "today" counters (relative to it)."""
    row = t.EnergySample(ts=s.ts, inverter_id=inv.pk, array_id=inv.array_id, system_id=inv.system_id,
                         soc=round(s.soc, 2))
    if powers:
        row.pv_power_w, row.load_power_w = round(s.pv_w), round(s.load_w)
        row.batt_power_w, row.grid_power_w = round(s.battery_w), round(s.grid_w)
    if counters:
        flows = {"pv": s.pv_kwh, "load": s.load_kwh, "batt_charge": s.charge_kwh,
                 "batt_discharge": s.discharge_kwh, "grid_import": s.import_kwh, "grid_export": s.export_kwh}
        base = today_base
        for name, value in flows.items():
            if base is None:
                setattr(row, f"{name}_total_kwh", round(value, 3))
            else:
                start = {"pv": base.pv_kwh, "load": base.load_kwh, "batt_charge": base.charge_kwh,
                         "batt_discharge": base.discharge_kwh, "grid_import": base.import_kwh,
                         "grid_export": base.export_kwh}[name]
                setattr(row, f"{name}_today_kwh", round(value - start, 3))
    return row


def meter_sample(meter: catalog.Meter, s: PlantState, *, counters: bool = True) -> t.MeterSample:
    row = t.MeterSample(ts=s.ts, meter_id=meter.pk, system_id=meter.system_id, array_id=meter.array_id,
                        grid_power_w=round(s.grid_w), grid_voltage_v=230.0,
                        grid_current_a=abs(s.grid_w) / 230, grid_frequency_hz=50.0)
    if counters:
        row.grid_import_wh, row.grid_export_wh = round(s.import_kwh * 1000), round(s.export_kwh * 1000)
    return row


def pack_sample(pack: catalog.BatteryPack, s: PlantState) -> t.BatteryBankSample:
    voltage = 52.0
    return t.BatteryBankSample(ts=s.ts, pack_id=pack.pk, battery_array_id=pack.battery_array_id,
                               system_id=pack.system_id, voltage=voltage, current=s.battery_w / voltage,
                               power_w=s.battery_w, soc=round(s.soc, 2), temperature=25.0)


def fast_insert(rows: list[Any]) -> None:
    """Insert model instances with one executemany (much faster than bulk_create for a day of rows)."""
    from django.db import connection

    if not rows:
        return
    model = type(rows[0])
    fields = [f for f in model._meta.concrete_fields if f.name != "pk"
              and any(getattr(r, f.attname) is not None for r in rows[:1])]
    columns = ", ".join(f.column for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    values = [[f.get_db_prep_save(getattr(r, f.attname), connection) for f in fields] for r in rows]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({marks})", values)


class Arrivals:
    """Plant samples of a site that appear in the database as their time comes."""

    def __init__(self, site: dict[str, Any], start: datetime, end: datetime, step_s: int = 10) -> None:
        self.plant = plant = plant_for(start - timedelta(minutes=5))
        self.rows: list[tuple[datetime, list[Any]]] = []
        ts, end = start.astimezone(UTC), end.astimezone(UTC)  # step in UTC: wall-clock steps break at DST
        while ts < end:
            state = plant.state(ts)
            self.rows.append((ts, [inverter_sample(site["inverter"], state),
                                   meter_sample(site["meter"], state), pack_sample(site["pack"], state)]))
            ts += timedelta(seconds=step_s)
        self.written = 0

    def until(self, now: datetime) -> None:
        due = [r for ts, rows in self.rows[self.written:] if ts <= now for r in rows]
        self.written += len(due) // 3
        for model in (t.EnergySample, t.MeterSample, t.BatteryBankSample):
            fast_insert([r for r in due if isinstance(r, model)])


def quarter_hours(start: datetime, end: datetime) -> list[datetime]:
    """The beat times of the periodic rollup (5, 20, 35 and 50 past, UTC) in [start, end]."""
    ts = start.astimezone(UTC).replace(minute=5, second=0, microsecond=0)
    out = []
    while ts <= end:
        if ts >= start:
            out.append(ts)
        ts += timedelta(minutes=15)
    return out
