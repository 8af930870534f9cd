"""Console table columns as data: header name → (reading attribute, converter), and value kinds.

Tables are parsed by header name, never by position, so a firmware that adds a column
only adds an entry to ``extra``. Units on the console: mV, mA (+ = charging), m°C, %.
Each header also has a kind (what its values look like), so a value that slid under the
wrong header is recognised as bad instead of being read as that header's value.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Converter = Callable[[str], object]

ABSENT = "Absent"
EMPTY = "-"


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

# What the values under a header look like. ``-`` (no value) fits every kind.
_KIND_PATTERNS: dict[str, re.Pattern[str]] = {
    "index": re.compile(r"^\d+$"),
    "number": re.compile(r"^-?\d+$"),
    "status": re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$"),
    "percent": re.compile(r"^\d{1,3}%$"),
    # `pwr`: "39%"; Pylontech `bat`: "44231 mAH"; Pytes `bat`: "34% 34682 mAH".
    "coulomb": re.compile(r"^(\d{1,3}%)?( ?\d+ mAH)?$", re.IGNORECASE),
    "time": re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"),
    "yes_no": re.compile(r"^[YN]$"),
    "text": re.compile(r"^\S.*$"),
}
_KIND_BY_HEADER = {
    "Power": "index", "Battery": "index",
    "Volt": "number", "Curr": "number", "Tempr": "number", "Tlow": "number", "Thigh": "number",
    "Vlow": "number", "Vhigh": "number", "MosTempr": "number",
    "SOC": "percent", "Coulomb": "coulomb", "Time": "time", "BAL": "yes_no",
    "Barcode": "text", "DevType": "text",
}


def kind_of(header: str) -> str:
    """The kind of value under ``header``: status columns by their name, ids as numbers."""
    if header in _KIND_BY_HEADER:
        return _KIND_BY_HEADER[header]
    if header.endswith((".St", " State")):
        return "status"
    if header.endswith(".Id"):
        return "number"
    return "text"


def value_fits(kind: str, value: str) -> bool:
    """Whether ``value`` looks like a value of ``kind`` (``-`` always does)."""
    return value == EMPTY or bool(_KIND_PATTERNS[kind].match(value))
