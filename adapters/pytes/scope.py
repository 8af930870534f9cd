"""Which consoles the pytes adapter reads: low-voltage Pytes / Pylontech packs only.

Pylontech's high-voltage systems (Force H2, Force L / SC "CMU" towers) have the same
console but print one series stack of BMUs: ``pwr`` is a single row without a ``Power``
column, with ``DC Volt``/``Bat Volt`` lines above it, and ``info`` states a specification
of hundreds of volts and over a hundred cells. Their units are not parallel packs, so
reading them as one would store nonsense; they are refused with one error naming the
device and the cause.
"""

from __future__ import annotations

import re

from adapters.errors import WrongDevice

LOW_VOLTAGE_MAX_V = 60.0  # 48 V / 51.2 V packs; anything far above is a series (HV) stack
LOW_VOLTAGE_MAX_CELLS = 24

_SPEC_VOLTS = re.compile(r"(\d+(?:\.\d+)?)\s*V", re.IGNORECASE)
_HV_PWR_KEYS = ("DC Volt", "Bat Volt")
_HV_PWR_HEADERS = ("CoulombAH", "BVhigh", "UVhigh")


def describe(info: dict[str, str]) -> str:
    """``Pylon Force_H2 (384V/37AH, 120 cells)`` from an ``info`` reply (what it states)."""
    name = " ".join(v for v in (info.get("Manufacturer", ""), info.get("Device name", "")) if v)
    details = ", ".join(v for v in (info.get("Specification", ""),
                                    f"{info['Cell Number']} cells" if info.get("Cell Number") else "") if v)
    return f"{name or 'unnamed device'}" + (f" ({details})" if details else "")


def high_voltage_cause(info: dict[str, str]) -> str | None:
    """Why the ``info`` reply is a high-voltage system, or None for a low-voltage pack."""
    spec = _SPEC_VOLTS.match(info.get("Specification", ""))
    if spec and float(spec.group(1)) > LOW_VOLTAGE_MAX_V:
        return f"a {spec.group(1)} V series stack"
    cells = info.get("Cell Number", "")
    if cells.isdigit() and int(cells) > LOW_VOLTAGE_MAX_CELLS:
        return f"{cells} cells in series"
    return None


def refuse_high_voltage(info: dict[str, str]) -> None:
    """Raise :class:`WrongDevice` when ``info`` describes a high-voltage system."""
    cause = high_voltage_cause(info)
    if cause:
        raise WrongDevice(f"{describe(info)} is a high-voltage battery system ({cause}); the pytes "
                          "adapter reads low-voltage Pytes/Pylontech packs only")


def is_high_voltage_pwr(body: list[str]) -> bool:
    """Whether a ``pwr`` reply is the high-voltage summary (no per-unit ``Power`` table)."""
    text = "\n".join(body)
    return (any(line.split(":")[0].strip() in _HV_PWR_KEYS for line in body)
            or any(header in text for header in _HV_PWR_HEADERS))
