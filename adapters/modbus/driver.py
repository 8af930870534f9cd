"""What every Modbus driver shares: the link, the map reader, cached identity, counter guard."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, Self

from adapters.base import Driver
from adapters.modbus.plausibility import CounterGuard, power_limit
from adapters.modbus.reader import MapReader
from adapters.modbus.registers import Value
from adapters.modbus.transport import ModbusLink
from adapters.readings import DeviceIdentity, InverterReading, MeterReading

INVERTER_COUNTERS = ("pv", "load", "batt_charge", "batt_discharge", "grid_import", "grid_export")
INVERTER_TOTALS = tuple(f"{name}_total_kwh" for name in INVERTER_COUNTERS)


class ModbusDriver(Driver):
    """Base of the Modbus drivers.

    The identity (serial, model, rated power, and for Deye the register profile) is read
    once and cached: a poll then costs only the live-data blocks.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.link = ModbusLink(self.config)
        self.reader = MapReader(self.link, max_block=int(self.config.get("max_block", 125)),
                                gap_bridge=int(self.config.get("gap_bridge", 8)))
        self._identity: DeviceIdentity | None = None
        self._guard: CounterGuard | None = None

    def identify(self) -> DeviceIdentity:
        """The device's serial number and model (read once, then cached)."""
        if self._identity is None:
            self._identity = self.read_identity()
        return self._identity

    @abstractmethod
    def read_identity(self) -> DeviceIdentity:
        """Read the identity registers and check them."""

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> Self:
        return self

    @property
    def rated_power_w(self) -> float | None:
        """Rated power from the config, else from the identity registers, else unknown."""
        configured = self.config.get("rated_power_w")
        if configured:
            return float(configured)
        rated = self.identify().extra.get("rated_power_w")
        return float(rated) if rated else None

    @property
    def max_power_w(self) -> float:
        return power_limit(self.rated_power_w)

    def withhold_bad_counters(self, reading: InverterReading | MeterReading, fields: Iterable[str],
                              *, per_kwh: float = 1.0) -> None:
        """Set lifetime counters that ran backwards or jumped to None, and name them in ``extra``.

        ``per_kwh`` converts the fields' unit to kWh (1000 for Wh fields).
        """
        if self._guard is None:
            self._guard = CounterGuard(self.max_power_w)
        counters = {f: (v / per_kwh if (v := getattr(reading, f)) is not None else None) for f in fields}
        kept, withheld = self._guard.filter(counters)
        for field, value in kept.items():
            setattr(reading, field, round(value * per_kwh, 6) if value is not None else None)
        if withheld:
            reading.extra["withheld_counters"] = withheld
            reading.flags.extend(f"counter {name} ran backwards or jumped further than the rated power "
                                 "allows: value unknown" for name in withheld)


def fill_inverter_counters(reading: InverterReading, values: Mapping[str, Value]) -> None:
    """Copy the today/total kWh counters (decoded under their reading field names)."""
    for name in INVERTER_COUNTERS:
        for period in ("today", "total"):
            field = f"{name}_{period}_kwh"
            setattr(reading, field, number(values, field))


def number(values: Mapping[str, Value], field: str) -> float | None:
    """A numeric field of decoded values, or None when the device did not provide it."""
    value = values.get(field)
    return float(value) if isinstance(value, int | float) else None


def total(values: Mapping[str, Value], fields: list[str]) -> float | None:
    """The sum of the numeric fields present, or None when none is."""
    present = [v for f in fields if (v := number(values, f)) is not None]
    return round(sum(present), 6) if present else None
