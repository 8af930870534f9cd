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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.db import models, transaction

from adapters.readings import BatteryPackReading, InverterReading, MeterReading
from catalog import models as catalog
from catalog.services import ensure_pack_units
from telemetry import models as t
from telemetry.signals import samples_written
from telemetry.upsert import Detail, insert_linked

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
_unit_fields = attrgetter(*UNIT_FIELDS)  # a unit's UNIT_FIELDS in one C call


@dataclass
class IngestResult:
    """How many rows one reading produced and how many were new."""

    rows: int
    written: int


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def inverter_values(inverter_id: str, array_id: str, system_id: str, reading: InverterReading,
                    ts: datetime) -> RowSet:
    """The inverter's row at ``ts`` as column values (no model instance)."""
    return RowSet(t.EnergySample, "inverter", inverter_id, system_id, ts, [(t.EnergySample, [{
        "ts": ts, "inverter_id": inverter_id, "array_id": array_id, "system_id": system_id,
        "adapter_id": reading.adapter_id, **_inverter_columns(reading)}])])


def _inverter_columns(reading: InverterReading) -> dict[str, Any]:
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
    return values


def inverter_rows(inv: catalog.Inverter, reading: InverterReading, ts: datetime) -> list[models.Model]:
    return [t.EnergySample(ts=ts, inverter_id=inv.pk, array_id=inv.array_id, system_id=inv.system_id,
                           adapter_id=reading.adapter_id, **_inverter_columns(reading))]


def _meter_columns(reading: MeterReading) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(reading, name) for name in METER_FIELDS}
    values.update({name: _whole(getattr(reading, name)) for name in METER_WHOLE})
    return values


def meter_values(meter_id: str, array_id: str | None, system_id: str, reading: MeterReading,
                 ts: datetime) -> RowSet:
    """The meter's row at ``ts`` as column values (no model instance)."""
    return RowSet(t.MeterSample, "meter", meter_id, system_id, ts, [(t.MeterSample, [{
        "ts": ts, "meter_id": meter_id, "system_id": system_id, "array_id": array_id,
        "adapter_id": reading.adapter_id, **_meter_columns(reading)}])])


def meter_rows(meter: catalog.Meter, reading: MeterReading, ts: datetime) -> list[models.Model]:
    return [t.MeterSample(ts=ts, meter_id=meter.pk, system_id=meter.system_id, array_id=meter.array_id,
                          adapter_id=reading.adapter_id, **_meter_columns(reading))]


def detail_interval_s(adapter_id: str | None) -> int:
    """Seconds between a pack's unit and cell rows: the adapter's ``cell_interval_s``, else the setting."""
    config = (catalog.Adapter.objects.filter(pk=adapter_id).values_list("config_json", flat=True).first()
              if adapter_id else None)
    return detail_interval_of(config)


def detail_interval_of(config: Mapping[str, Any] | None) -> int:
    """:func:`detail_interval_s` of an adapter whose configuration the caller holds."""
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

    Missing catalog units and cells are created once. The rows are :func:`pack_values`' built as
    model instances.
    """
    batteries, cells = _pack_catalog(pack, reading)
    values = pack_values(pack.pk, pack.battery_array_id, pack.system_id, batteries, cells, reading, ts,
                         detail_interval_s(reading.adapter_id))
    return [row for model, rows in values.tables for row in _instances(model, rows)]


def _instances(model: type[models.Model], rows: list[dict[str, Any]]) -> list[models.Model]:
    """``rows`` (keyed by attname) as instances of ``model``, every field given by position: Django
    builds an instance from keywords at several times the cost (a foreign key given by its id is
    looked up under its name first, a ``KeyError`` each)."""
    fields = [(f.attname, f) for f in model._meta.concrete_fields]
    return [model(*[row[attname] if attname in row else field.get_default() for attname, field in fields])
            for row in rows]


def pack_values(pack_id: str, battery_array_id: str, system_id: str, batteries: Mapping[int, str],
                cells: Mapping[tuple[str, int], str], reading: BatteryPackReading, ts: datetime,
                detail_interval: int) -> RowSet:
    """:func:`pack_rows` as column values, for a pack whose catalog ids the caller holds
    (``batteries``: id by index from 0; ``cells``: id by (battery id, cell index)); every unit
    and cell of the reading must be in them (:func:`missing_units`)."""
    scope = {"pack_id": pack_id, "battery_array_id": battery_array_id, "system_id": system_id}
    head = {"ts": ts, "voltage": reading.voltage, "current": reading.current,
            "temperature": reading.temperature, "soc": reading.soc,
            "batteries_count": reading.batteries_count, "cells_per_battery": reading.cells_per_battery,
            "power_w": reading.power, "cycles": reading.cycles, "adapter_id": reading.adapter_id, **scope}
    detail = detail_slot(ts, detail_interval)
    units: list[dict[str, Any]] = []
    cell_rows: list[dict[str, Any]] = []
    for unit in reading.units:
        battery_id = batteries[unit.index - 1]
        units.append({"ts": detail, "battery_id": battery_id, "power": unit.index, "power_w": unit.power,
                      **scope, **dict(zip(UNIT_FIELDS, _unit_fields(unit), strict=True))})
        for cell in unit.cells:
            cell_rows.append({
                "ts": detail, "cell_ref_id": cells[(battery_id, cell.index)], "battery_id": battery_id,
                "power": unit.index, "cell": cell.index, "voltage": cell.voltage,
                "temperature": cell.temperature, "soc": cell.soc, "volt_st": cell.volt_st,
                "temp_st": cell.temp_st, "voltage_min": cell.voltage, "voltage_max": cell.voltage,
                "temperature_min": cell.temperature, "temperature_max": cell.temperature, **scope})
    tables: list[tuple[type[models.Model], list[dict[str, Any]]]] = [(t.BatteryBankSample, [head])]
    if units:
        tables.append((t.BatteryUnitSample, units))
    if cell_rows:
        tables.append((t.BatteryCellSample, cell_rows))
    return RowSet(t.BatteryBankSample, "battery_pack", pack_id, system_id, ts, tables)


def missing_units(batteries: Mapping[int, str], cells: Mapping[tuple[str, int], str],
                  reading: BatteryPackReading) -> bool:
    """Whether the reading has a unit or cell the catalog ids lack (``ensure_pack_units`` makes them)."""
    for unit in reading.units:
        battery_id = batteries.get(unit.index - 1)
        if battery_id is None or any((battery_id, c.index) not in cells for c in unit.cells):
            return True
    return False


def _pack_catalog(pack: catalog.BatteryPack, reading: BatteryPackReading
                  ) -> tuple[dict[int, str], dict[tuple[str, int], str]]:
    """Battery ids by index and cell ids by (battery, cell index), in one query; missing rows are
    created once."""
    need_units = max((u.index for u in reading.units), default=0)
    need_cells = max((len(u.cells) for u in reading.units), default=0)
    batteries: dict[int, str] = {}
    cells: dict[tuple[str, int], str] = {}
    for index, battery_id, cell_id, cell_index in catalog.Battery.objects.filter(pack=pack).values_list(
            "battery_index", "battery_id", "cells__cell_id", "cells__cell_index").order_by():
        batteries[index] = battery_id
        if cell_id is not None:
            cells[(battery_id, cell_index)] = cell_id
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
    values = row.__dict__  # an instance's field values, by attname (a deferred one is read from the database)
    return {f.attname: values[f.attname] if f.attname in values else getattr(row, f.attname)
            for f in row._meta.concrete_fields}


@dataclass
class RowSet:
    """One reading's rows as column values, per table, the head table (one row) first."""

    head: type[models.Model]
    device_type: str  # "inverter", "meter", "battery_pack"
    device_id: str
    system_id: str
    ts: datetime
    tables: list[tuple[type[models.Model], list[dict[str, Any]]]]

    def __len__(self) -> int:
        return sum(len(rows) for _, rows in self.tables)


_HEADS: dict[type[models.Model], tuple[str, str]] = {
    t.EnergySample: ("inverter_id", "inverter"), t.MeterSample: ("meter_id", "meter"),
    t.BatteryBankSample: ("pack_id", "battery_pack")}


def write_rows(rows: list[models.Model]) -> IngestResult:
    """:func:`write` for rows built as model instances (head row first)."""
    if not rows:
        return IngestResult(rows=0, written=0)
    head = rows[0]
    device_field, device_type = _HEADS[type(head)]
    tables: dict[type[models.Model], list[dict[str, Any]]] = {}
    for row in rows:
        tables.setdefault(type(row), []).append(_fields(row))
    return write(RowSet(type(head), device_type, getattr(head, device_field), head.system_id,  # type: ignore[attr-defined]
                        head.ts, list(tables.items())))  # type: ignore[attr-defined]


def write(rows: RowSet) -> IngestResult:
    """Write one reading's rows; a repeat writes nothing (:func:`telemetry.upsert.insert_linked`).

    The head row (the inverter, meter or pack row at this ``ts``) goes in with ``ON CONFLICT DO
    NOTHING``: if it was there already this is a re-delivered poll, whose other rows exist too
    (a reading's rows are written all or nothing), so nothing more is written. Unit and cell rows
    of a detail interval are upserted (see above). One statement on PostgreSQL, one per table in
    one transaction on SQLite.
    """
    if not rows.tables:
        return IngestResult(rows=0, written=0)
    (head_model, head_rows), *details = rows.tables
    if not insert_linked(head_model, head_rows, [Detail(model, batch, *DETAIL_MERGE.get(model, ((), ())))
                                                 for model, batch in details]):
        return IngestResult(rows=len(rows), written=0)
    detail_ts = next((batch[0]["ts"] for _, batch in details if batch), rows.ts)
    transaction.on_commit(lambda: samples_written.send(
        sender=rows.head, device_type=rows.device_type, device_id=rows.device_id,
        system_id=rows.system_id, ts=rows.ts, detail_ts=detail_ts, rows=rows))
    return IngestResult(rows=len(rows), written=len(rows))
