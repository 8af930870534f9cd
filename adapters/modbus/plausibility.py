"""Plausibility checks: a value that cannot be physically true is never stored as if true.

Limits are deliberately wide: they catch garbage (a misaligned read, a byte-swapped
word, another device answering on the same address), not unusual but real states.

Two kinds of check. A voltage or frequency outside its range means the registers do not
decode as this device's map (wrong profile, wrong device, misaligned read): nothing in the
reading can be trusted, so it is rejected whole. A power, SOC or temperature outside its
range is what one register glitch looks like (a BMS dropping its link reports SOC 250):
that value becomes unknown, a flag on the reading says why, and the rest is kept. Two or
more such values in one reading are no longer a glitch: the reading is rejected whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from adapters.errors import ImplausibleReading, WrongDevice
from adapters.modbus.registers import is_printable_serial
from adapters.readings import InverterReading, MeterReading

ABSOLUTE_POWER_CAP_W = 100_000.0  # when the rated power is unknown
BATTERY_VOLTS = (0.0, 1000.0)
GRID_VOLTS = (0.0, 500.0)
FREQUENCY_HZ = (40.0, 70.0)
INVERTER_TEMP_C = (-40.0, 150.0)
COUNTER_SLACK_KWH = 1.5  # register resolution (up to 1 kWh) plus rounding
MAX_GLITCHES = 1  # field-level implausible values one reading may carry and still be kept

Reading = InverterReading | MeterReading


def power_limit(rated_w: float | None) -> float:
    """The largest believable power magnitude: 10 × rated, or the absolute cap."""
    return 10.0 * rated_w if rated_w else ABSOLUTE_POWER_CAP_W


def checked_serial(text: str, where: str) -> str:
    """``text`` if it looks like a serial number, else :class:`WrongDevice`."""
    if not is_printable_serial(text):
        raise WrongDevice(f"serial number at {where} is {text!r}: not a printable serial number")
    return text


def _outside(name: str, value: float | None, low: float, high: float, unit: str,
             *, zero_means_none: bool = False) -> str | None:
    """Why ``value`` is impossible, or None. ``zero_means_none``: 0 is "not connected"."""
    if value is None or (zero_means_none and not value) or low <= value <= high:
        return None
    return f"{name} {value:g} {unit} is outside {low:g}..{high:g} {unit}".replace("  ", " ")


def _structural(problems: list[str | None]) -> None:
    found = [p for p in problems if p]
    if found:
        raise ImplausibleReading("; ".join(found))


def _glitches(reading: Reading, checks: list[tuple[str, str | None]]) -> None:
    """Unknown + flagged for each failed field check; rejected whole above ``MAX_GLITCHES``."""
    found = [(field, problem) for field, problem in checks if problem]
    if len(found) > MAX_GLITCHES:
        raise ImplausibleReading("; ".join(p for _, p in found) + ": too many impossible values to be "
                                 "a glitch")
    for field, problem in found:
        setattr(reading, field, None)
        reading.flags.append(f"{problem}: value unknown")


def check_inverter(reading: InverterReading, max_power_w: float) -> None:
    """Reject a reading that cannot be this device's; leave a lone impossible value unknown."""
    _structural([
        _outside("battery voltage", reading.batt_voltage_v, *BATTERY_VOLTS, "V"),
        _outside("grid voltage", reading.grid_voltage_v, *GRID_VOLTS, "V", zero_means_none=True),
        _outside("grid frequency", reading.grid_frequency_hz, *FREQUENCY_HZ, "Hz", zero_means_none=True),
    ])
    checks = [("soc", _outside("SOC", reading.soc, 0.0, 100.0, "%")),
              ("inverter_temp_c", _outside("inverter temperature", reading.inverter_temp_c,
                                           *INVERTER_TEMP_C, "°C"))]
    for name in ("pv_power_w", "load_power_w", "grid_power_w", "batt_power_w"):
        label = name.removesuffix("_w").replace("_", " ")
        checks.append((name, _outside(label, getattr(reading, name), -max_power_w, max_power_w, "W")))
    _glitches(reading, checks)


def check_meter(reading: MeterReading, max_power_w: float) -> None:
    """Reject a reading that cannot be this meter's; leave a lone impossible value unknown."""
    _structural(
        [_outside(name.replace("_", " "), getattr(reading, name), *GRID_VOLTS, "V", zero_means_none=True)
         for name in ("grid_voltage_v", "voltage_phase_a", "voltage_phase_b", "voltage_phase_c")]
        + [_outside("grid frequency", reading.grid_frequency_hz, *FREQUENCY_HZ, "Hz", zero_means_none=True)])
    checks = [(name, _outside(name.replace("_", " "), getattr(reading, name), -max_power_w, max_power_w, "W"))
              for name in ("grid_power_w", "power_phase_a", "power_phase_b", "power_phase_c")]
    checks.append(("power_factor", _outside("power factor", reading.power_factor, -1.0, 1.0, "")))
    _glitches(reading, checks)


class CounterGuard:
    """Withholds lifetime energy counters that run backwards or jump impossibly far.

    A counter is compared with the last value it accepted: it may not fall, and may not
    rise faster than ``max_power_w`` allows over the elapsed time. A rejected value is
    kept as a candidate; when the next value continues from the candidate instead of
    from the old baseline (a firmware reset), the new baseline is accepted.
    """

    def __init__(self, max_power_w: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_power_w = max_power_w
        self.clock = clock
        self._accepted: dict[str, tuple[float, float]] = {}
        self._candidate: dict[str, tuple[float, float]] = {}

    def filter(self, counters: Mapping[str, float | None]) -> tuple[dict[str, float | None], list[str]]:
        """The counters with implausible ones set to None, and the names withheld."""
        now = self.clock()
        kept: dict[str, float | None] = {}
        withheld: list[str] = []
        for name, value in counters.items():
            if value is None or self._accept(name, value, now):
                kept[name] = value
            else:
                kept[name] = None
                withheld.append(name)
        return kept, withheld

    def _accept(self, name: str, value: float, now: float) -> bool:
        accepted, candidate = self._accepted.get(name), self._candidate.get(name)
        if accepted is None or self._continues(accepted, value, now) or \
                (candidate is not None and self._continues(candidate, value, now)):
            self._accepted[name] = (value, now)
            self._candidate.pop(name, None)
            return True
        self._candidate[name] = (value, now)
        return False

    def _continues(self, previous: tuple[float, float], value: float, now: float) -> bool:
        last, at = previous
        allowed = self.max_power_w / 1000.0 * max(0.0, now - at) / 3600.0 + COUNTER_SLACK_KWH
        return last - 1e-6 <= value <= last + allowed
