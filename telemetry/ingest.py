"""Turn a driver's reading into sample rows and write them in one idempotent bulk write.

Unit numbering: a pack reading's units carry the device's own 1-based unit number
(``BatteryUnitReading.index``), stored as the spec's ``power`` column; the catalog's
``battery_index`` is that number minus one. Cells are 0-based (``cell_index``).

Detail interval: a pack's unit and cell rows are kept at their own interval (the adapter's
``cell_interval_s``, else ``SOLARMON_CELL_INTERVAL_S``, 60 s by default), not at every poll: 92
cells polled every 10 s would otherwise be most of the database. Every reading still counts. The
row of an interval (``ts`` = the interval's start) is written by its first reading and updated
by each later one: it holds the latest values, so the battery page stays live, and each cell
row keeps the lowest and highest voltage and temperature seen in the interval
(``voltage_min``/``voltage_max``, ``temperature_min``/``temperature_max``), so no excursion is
lost between rows. The pack row itself is written at every poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models, transaction

from adapters.readings import BatteryPackReading, InverterReading, MeterReading
from catalog import models as catalog
from catalog.services import ensure_pack_units
from telemetry import models as t
from telemetry.signals import samples_written
from telemetry.upsert import upsert

INVERTER_FIELDS = [
    "batt_voltage_v", "batt_current_a", "soc", "inverter_mode", "inverter_temp_c",
    "grid_voltage_v", "grid_frequency_hz",
    "pv_today_kwh", "load_today_kwh", "batt_charge_today_kwh", "batt_discharge_today_kwh",
    "grid_import_today_kwh", "grid_export_today_kwh", "pv_total_kwh", "load_total_kwh",
    "batt_charge_total_kwh", "batt_discharge_total_kwh", "grid_import_total_kwh", "grid_export_total_kwh",
]
INVERTER_WATTS = ["pv_power_w", "load_power_w", "grid_power_w", "batt_power_w"]
METER_FIELDS = [
    "grid_voltage_v", "grid_current_a", "grid_frequency_hz", "energy_kwh", "power_factor",
    "voltage_phase_a", "voltage_phase_b", "voltage_phase_c",
    "current_phase_a", "current_phase_b", "current_phase_c",
]
METER_WHOLE = ["grid_power_w", "grid_import_wh", "grid_export_wh", "power_phase_a", "power_phase_b",
               "power_phase_c"]
UNIT_FIELDS = ["voltage", "current", "temperature", "soc", "basic_st", "volt_st", "current_st", "temp_st",
               "soh_st", "coul_st", "heater_st", "bat_events", "power_events", "sys_events", "cycles"]


@dataclass
class IngestResult:
    """How many rows one reading produced and how many were new."""

    rows: int
    written: int


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def inverter_rows(inv: catalog.Inverter, reading: InverterReading, ts: datetime) -> list[models.Model]:
    values: dict[str, Any] = {name: getattr(reading, name) for name in INVERTER_FIELDS}
    values.update({name: _whole(getattr(reading, name)) for name in INVERTER_WATTS})
    # The spec's duplicate battery columns and Wh grid counters, filled from the same values.
    values["battery_soc"] = reading.soc
    values["battery_voltage_v"] = reading.batt_voltage_v
    values["battery_current_a"] = reading.batt_current_a
    if reading.grid_import_total_kwh is not None:
        values["grid_import_wh"] = reading.grid_import_total_kwh * 1000
    if reading.grid_export_total_kwh is not None:
        values["grid_export_wh"] = reading.grid_export_total_kwh * 1000
    return [t.EnergySample(ts=ts, inverter_id=inv.pk, array_id=inv.array_id, system_id=inv.system_id,
                           adapter_id=reading.adapter_id, **values)]


def meter_rows(meter: catalog.Meter, reading: MeterReading, ts: datetime) -> list[models.Model]:
    values: dict[str, Any] = {name: getattr(reading, name) for name in METER_FIELDS}
    values.update({name: _whole(getattr(reading, name)) for name in METER_WHOLE})
    return [t.MeterSample(ts=ts, meter_id=meter.pk, system_id=meter.system_id, array_id=meter.array_id,
                          adapter_id=reading.adapter_id, **values)]


def detail_interval_s(adapter_id: str | None) -> int:
    """Seconds between a pack's unit and cell rows: the adapter's ``cell_interval_s``, else the setting."""
    config = (catalog.Adapter.objects.filter(pk=adapter_id).values_list("config_json", flat=True).first()
              if adapter_id else None)
    value = (config or {}).get("cell_interval_s")
    return int(settings.SOLARMON_CELL_INTERVAL_S if value is None else value)


def detail_slot(ts: datetime, interval_s: int) -> datetime:
    """The start of the detail interval holding ``ts`` (``ts`` itself for an interval of 0)."""
    if interval_s <= 0:
        return ts
    epoch = ts.timestamp()
    return datetime.fromtimestamp(epoch - epoch % interval_s, tz=ts.tzinfo)


def pack_rows(pack: catalog.BatteryPack, reading: BatteryPackReading, ts: datetime) -> list[models.Model]:
    """The pack row at ``ts``, then a row per unit and per cell at the detail interval holding ``ts``.

    Missing catalog units and cells are created once.
    """
    batteries, cells = _pack_catalog(pack, reading)
    scope = {"pack_id": pack.pk, "battery_array_id": pack.battery_array_id, "system_id": pack.system_id}
    rows: list[models.Model] = [t.BatteryBankSample(
        ts=ts, voltage=reading.voltage, current=reading.current, temperature=reading.temperature,
        soc=reading.soc, batteries_count=reading.batteries_count, cells_per_battery=reading.cells_per_battery,
        power_w=reading.power, cycles=reading.cycles, adapter_id=reading.adapter_id, **scope)]
    detail = detail_slot(ts, detail_interval_s(reading.adapter_id))
    for unit in reading.units:
        battery_id = batteries[unit.index - 1]
        rows.append(t.BatteryUnitSample(ts=detail, battery_id=battery_id, power=unit.index,
                                        power_w=unit.power, **scope,
                                        **{name: getattr(unit, name) for name in UNIT_FIELDS}))
        for cell in unit.cells:
            rows.append(t.BatteryCellSample(
                ts=detail, cell_ref_id=cells[(battery_id, cell.index)], battery_id=battery_id,
                power=unit.index, cell=cell.index, voltage=cell.voltage, temperature=cell.temperature,
                soc=cell.soc, volt_st=cell.volt_st, temp_st=cell.temp_st, voltage_min=cell.voltage,
                voltage_max=cell.voltage, temperature_min=cell.temperature,
                temperature_max=cell.temperature, **scope))
    return rows


def _pack_catalog(pack: catalog.BatteryPack, reading: BatteryPackReading
                  ) -> tuple[dict[int, str], dict[tuple[str, int], str]]:
    """Battery ids by index and cell ids by (battery, cell index); missing rows are created once."""
    need_units = max((u.index for u in reading.units), default=0)
    need_cells = max((len(u.cells) for u in reading.units), default=0)
    batteries = dict(catalog.Battery.objects.filter(pack=pack).values_list("battery_index", "battery_id"))
    cells = {(b, i): c for c, b, i in catalog.BatteryCell.objects.filter(pack=pack).values_list(
        "cell_id", "battery_id", "cell_index")}
    have_cells = all((batteries.get(u.index - 1), c.index) in cells for u in reading.units for c in u.cells)
    if len(batteries) < need_units or not have_cells:
        ensure_pack_units(pack, need_units, need_cells)
        return _pack_catalog(pack, reading)
    return batteries, cells


# Detail-interval tables → (columns that keep the interval's minimum, its maximum).
DETAIL_MERGE: dict[type[models.Model], tuple[tuple[str, ...], tuple[str, ...]]] = {
    t.BatteryUnitSample: ((), ()),
    t.BatteryCellSample: (("voltage_min", "temperature_min"), ("voltage_max", "temperature_max")),
}


def _fields(row: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


@transaction.atomic
def write_rows(rows: list[models.Model]) -> IngestResult:
    """Write one reading's rows (head row first) in one transaction; a repeat writes nothing.

    The rows of one reading are always written together, so if its head row (the inverter,
    meter or pack row at this ``ts``) exists, this is a re-delivered poll and all of them exist.
    ``ignore_conflicts`` still guards the race of two identical polls running at once.
    """
    if not rows:
        return IngestResult(rows=0, written=0)
    head = rows[0]
    head_model = type(head)
    device_field = {t.EnergySample: "inverter_id", t.MeterSample: "meter_id",
                    t.BatteryBankSample: "pack_id"}[head_model]  # type: ignore[index]
    exists = head_model.objects.filter(  # type: ignore[attr-defined]
        ts=head.ts, **{device_field: getattr(head, device_field)}).exists()  # type: ignore[attr-defined]
    if exists:
        return IngestResult(rows=len(rows), written=0)
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    for model, batch in by_model.items():
        if model in DETAIL_MERGE:
            # Rows of a detail interval: the first reading inserts, later ones update (see above).
            low, high = DETAIL_MERGE[model]
            upsert(model, [_fields(row) for row in batch], keep_min=low, keep_max=high)
        else:
            model.objects.bulk_create(batch, ignore_conflicts=True, batch_size=500)  # type: ignore[attr-defined]
    device_type = {"inverter_id": "inverter", "meter_id": "meter", "pack_id": "battery_pack"}[device_field]
    detail_ts = next((row.ts for row in rows if type(row) in DETAIL_MERGE), head.ts)  # type: ignore[attr-defined]
    transaction.on_commit(lambda: samples_written.send(
        sender=head_model, device_type=device_type, device_id=getattr(head, device_field),
        system_id=head.system_id, ts=head.ts, detail_ts=detail_ts))  # type: ignore[attr-defined]
    return IngestResult(rows=len(rows), written=len(rows))
