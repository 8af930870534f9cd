"""Turn a decoded JK cell-info frame into a battery unit reading."""

from __future__ import annotations

from typing import Any

from adapters.errors import ImplausibleReading
from adapters.jkbms.codec import decode_cells, decode_fields
from adapters.jkbms.frames import TYPE_CELL_INFO
from adapters.jkbms.layouts import ABSENT_TEMPERATURE_RAW, TEMP_SENSOR_BITS, CellInfoLayout
from adapters.readings import BatteryUnitReading, CellReading

_EXTRA_FIELDS = ("mos_temp", "temp1", "temp2", "temp3", "temp4", "temp5", "errors", "balance_current",
                 "balancing", "remaining_ah", "cycle_capacity_ah", "soh", "runtime_s", "charge_mos",
                 "discharge_mos", "cell_delta", "cell_avg")
_BATTERY_SENSORS = ("temp1", "temp2")  # the pack sensors; temp3-5 only where those are absent
_SPARE_SENSORS = ("temp3", "temp4", "temp5")


def unit_from_cell_info(buf: bytes, layout: CellInfoLayout, index: int, *, byteorder: str = "<",
                        serial_number: str | None = None) -> tuple[BatteryUnitReading, dict[str, Any]]:
    """Decode one cell-info image into a unit reading plus its extra (non-column) values.

    ``buf`` is a frame (byte order ``<``) or a register image laid out like one (``>``). A
    temperature sensor that is not fitted (its presence bit clear, or the -200.0 °C
    placeholder) is unknown, never a temperature; such sensors are listed in
    ``extra["absent_temp_sensors"]``.
    """
    if byteorder == "<" and buf[4] != TYPE_CELL_INFO:
        raise ImplausibleReading(f"expected a cell-info frame, got frame type 0x{buf[4]:02x}")
    values: dict[str, Any] = decode_fields(buf, layout.fields, byteorder)
    cells = decode_cells(buf, layout, byteorder)
    if not cells:
        raise ImplausibleReading(f"unit {index}: the frame reports no cells")
    absent = _drop_absent_temperatures(values)
    voltage, current = values["total_voltage"], values["current"]
    temps = [values[k] for k in _BATTERY_SENSORS if values.get(k) is not None] or \
        [values[k] for k in _SPARE_SENSORS if values.get(k) is not None]
    unit = BatteryUnitReading(
        index=index,
        voltage=voltage,
        current=current,
        # The power field is unsigned on the wire; V·I keeps the charge sign.
        power=round(voltage * current, 2),
        temperature=round(sum(temps) / len(temps), 2) if temps else None,
        soc=float(values["soc"]),
        cycles=int(values["cycles"]),
        capacity_ah=values.get("nominal_ah") or None,
        serial_number=serial_number,
        cells=[CellReading(index=i, voltage=v) for i, v in cells],
    )
    extra = {k: values[k] for k in _EXTRA_FIELDS if values.get(k) is not None}
    if absent:
        extra["absent_temp_sensors"] = absent
    return unit, extra


def _drop_absent_temperatures(values: dict[str, Any]) -> list[str]:
    """Set each temperature whose sensor is not fitted to None; return their names.

    A mask of 0 carries no information (no firmware reports a BMS without its MOS sensor),
    so then only the -200.0 °C placeholder marks a sensor as absent.
    """
    mask = int(values.pop("temp_sensors", 0) or 0)
    absent = []
    for name, bit in TEMP_SENSOR_BITS.items():
        if name not in values:
            continue
        placeholder = round(values[name] * 10) == ABSENT_TEMPERATURE_RAW
        if placeholder or (mask and not mask >> bit & 1):
            values[name] = None
            absent.append(name)
    return absent
