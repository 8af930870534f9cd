"""Plausibility of battery units: an impossible value is unknown and flagged, not stored.

One cell that reads 6.1 V is a glitch of that cell: the cell's voltage becomes unknown, a
flag says why, and the rest of the unit is kept. When most of a unit's cells are
impossible, the bytes were not decoded as the device meant them (a wrong frame layout,
another protocol): nothing of that reading can be trusted, so it is rejected whole.
"""

from __future__ import annotations

from adapters.errors import ImplausibleReading
from adapters.readings import BatteryUnitReading

CELL_VOLTAGE_RANGE = (1.0, 5.0)
"""Volts; a lithium cell reported outside this range is a decoding or wiring fault."""
TEMPERATURE_RANGE_C = (-40.0, 100.0)
"""°C; a battery or cell outside this range is a sensor fault, not a state to store."""
SOC_RANGE = (0.0, 100.0)
MAX_BAD_CELL_SHARE = 0.5
"""Above this share of impossible cells in one unit, the reading is rejected as a whole."""


def screen_units(units: list[BatteryUnitReading]) -> list[str]:
    """Set impossible values of ``units`` to ``None`` and return one flag per value.

    Raises :class:`ImplausibleReading` when a unit cannot be true as a whole.
    """
    flags: list[str] = []
    for unit in units:
        flags += _screen_unit(unit)
    return flags


def _screen_unit(unit: BatteryUnitReading) -> list[str]:
    flags: list[str] = []
    low, high = CELL_VOLTAGE_RANGE
    reported = [c for c in unit.cells if c.voltage is not None]
    bad = [c for c in reported if c.voltage is not None and not low <= c.voltage <= high]
    if reported and len(bad) > MAX_BAD_CELL_SHARE * len(reported):
        shown = ", ".join(f"{c.voltage:g}" for c in bad[:4])
        raise ImplausibleReading(f"unit {unit.index}: {len(bad)} of {len(reported)} cells outside "
                                 f"{low:g}-{high:g} V ({shown} V ...): the data does not decode as this "
                                 "device's layout")
    for cell in bad:
        flags.append(f"unit {unit.index} cell {cell.index}: {cell.voltage:g} V outside {low:g}-{high:g} V")
        cell.voltage = None
    for cell in unit.cells:
        if _outside(cell.temperature, TEMPERATURE_RANGE_C):
            flags.append(f"unit {unit.index} cell {cell.index}: {cell.temperature:g} °C outside "
                         f"{_span(TEMPERATURE_RANGE_C)} °C")
            cell.temperature = None
        if _outside(cell.soc, SOC_RANGE):
            flags.append(f"unit {unit.index} cell {cell.index}: SOC {cell.soc:g} % outside 0-100 %")
            cell.soc = None
    if _outside(unit.soc, SOC_RANGE):
        flags.append(f"unit {unit.index}: SOC {unit.soc:g} % outside 0-100 %")
        unit.soc = None
    if _outside(unit.temperature, TEMPERATURE_RANGE_C):
        flags.append(f"unit {unit.index}: {unit.temperature:g} °C outside {_span(TEMPERATURE_RANGE_C)} °C")
        unit.temperature = None
    return flags


def _outside(value: float | None, span: tuple[float, float]) -> bool:
    return value is not None and not span[0] <= value <= span[1]


def _span(span: tuple[float, float]) -> str:
    return f"{span[0]:g}..{span[1]:g}"
