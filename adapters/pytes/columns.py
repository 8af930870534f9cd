"""Console table columns as data: header name → (reading attribute, converter).

Tables are parsed by header name, never by position, so a firmware that adds a column
only adds an entry to ``extra``. Units on the console: mV, mA (+ = charging), m°C, %.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Converter = Callable[[str], object]


def milli(text: str) -> float:
    """``49905`` (mV, mA, m°C) → 49.905."""
    return int(text) / 1000


def percent(text: str) -> float:
    """``39%`` (or ``34% 34682 mAH``) → 39.0."""
    match = re.match(r"(-?\d+(?:\.\d+)?)\s*%", text)
    if not match:
        raise ValueError(f"not a percentage: {text!r}")
    return float(match.group(1))


def integer(text: str) -> int:
    return int(text)


def text(value: str) -> str:
    return value


# `pwr`: one row per unit.
PWR_COLUMNS: dict[str, tuple[str, Converter]] = {
    "Power": ("index", integer),
    "Volt": ("voltage", milli),
    "Curr": ("current", milli),
    "Tempr": ("temperature", milli),
    "Base.St": ("basic_st", text),
    "Volt.St": ("volt_st", text),
    "Curr.St": ("current_st", text),
    "Temp.St": ("temp_st", text),
    "Coulomb": ("soc", percent),
    "Barcode": ("serial_number", text),
}
# Columns kept in the reading's extra (by snake-case name) with their converter.
PWR_EXTRA: dict[str, tuple[str, Converter]] = {
    "Tlow": ("temp_low", milli),
    "Thigh": ("temp_high", milli),
    "Vlow": ("cell_volt_low", milli),
    "Vhigh": ("cell_volt_high", milli),
    "MosTempr": ("mos_temp", milli),
    "Time": ("bms_time", text),
    "DevType": ("device_type", text),
}

# `bat N`: one row per cell. Pytes merges SOC into its Coulomb column ("34% 34682 mAH").
BAT_COLUMNS: dict[str, tuple[str, Converter]] = {
    "Battery": ("index", integer),
    "Volt": ("voltage", milli),
    "Tempr": ("temperature", milli),
    "Volt. State": ("volt_st", text),
    "Temp. State": ("temp_st", text),
    "SOC": ("soc", percent),
}
BAT_SOC_FALLBACK = "Coulomb"  # holds the SOC when there is no SOC column (Pytes)

ABSENT = "Absent"
EMPTY = "-"
