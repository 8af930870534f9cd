"""Plausibility checks: a reading that cannot be physically true is rejected, not stored.

Limits are deliberately wide: they catch garbage (a misaligned read, a byte-swapped
word, another device answering on the same address), not unusual but real states.
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
COUNTER_SLACK_KWH = 1.5  # register resolution (up to 1 kWh) plus rounding


def power_limit(rated_w: float | None) -> float:
    """The largest believable power magnitude: 10 × rated, or the absolute cap."""
    return 10.0 * rated_w if rated_w else ABSOLUTE_POWER_CAP_W


def checked_serial(text: str, where: str) -> str:
    """``text`` if it looks like a serial number, else :class:`WrongDevice`."""
    if not is_printable_serial(text):
        raise WrongDevice(f"serial number at {where} is {text!r}: not a printable serial number")
    return text


def _within(name: str, value: float | None, low: float, high: float, unit: str) -> None:
    if value is not None and not low <= value <= high:
        raise ImplausibleReading(f"{name} {value:g} {unit} is outside {low:g}..{high:g} {unit}")


def _nonzero_within(name: str, value: float | None, low: float, high: float, unit: str) -> None:
    if value:  # 0 means "not connected" (grid down, no frequency lock)
        _within(name, value, low, high, unit)


def check_inverter(reading: InverterReading, max_power_w: float) -> None:
    """Raise :class:`ImplausibleReading` naming the first impossible value."""
    _within("SOC", reading.soc, 0.0, 100.0, "%")
    _within("battery voltage", reading.batt_voltage_v, *BATTERY_VOLTS, "V")
    _nonzero_within("grid voltage", reading.grid_voltage_v, *GRID_VOLTS, "V")
    _nonzero_within("grid frequency", reading.grid_frequency_hz, *FREQUENCY_HZ, "Hz")
    for name in ("pv_power_w", "load_power_w", "grid_power_w", "batt_power_w"):
        _within(name.removesuffix("_w").replace("_", " "), getattr(reading, name),
                -max_power_w, max_power_w, "W")


def check_meter(reading: MeterReading, max_power_w: float) -> None:
    """Raise :class:`ImplausibleReading` naming the first impossible value."""
    for name in ("grid_voltage_v", "voltage_phase_a", "voltage_phase_b", "voltage_phase_c"):
        _nonzero_within(name.replace("_", " "), getattr(reading, name), *GRID_VOLTS, "V")
    _nonzero_within("grid frequency", reading.grid_frequency_hz, *FREQUENCY_HZ, "Hz")
    for name in ("grid_power_w", "power_phase_a", "power_phase_b", "power_phase_c"):
        _within(name.replace("_", " "), getattr(reading, name), -max_power_w, max_power_w, "W")
    _within("power factor", reading.power_factor, -1.0, 1.0, "")


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
