"""IAMMeter WEM3080 / WEM3080T driver (Modbus TCP, RTU or RTU over TCP)."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.errors import ConfigError
from adapters.iammeter import registers as maps
from adapters.modbus.driver import ModbusDriver, number, total
from adapters.modbus.plausibility import check_meter, checked_serial
from adapters.modbus.registers import Value
from adapters.readings import DeviceIdentity, MeterReading

METER_POWER_CAP_W = 200_000.0  # 3 × 200 A CTs at 230 V is about 140 kW


class IammeterDriver(ModbusDriver):
    """Reads an IAMMeter; the map follows the configured model and transport."""

    adapter_type = "iammeter"

    @property
    def model(self) -> str:
        model = str(self.config.get("model", maps.WEM3080T))
        if model not in maps.MODELS:
            raise ConfigError(f"unknown IAMMeter model {model!r} (known: {', '.join(maps.MODELS)})")
        return model

    @property
    def max_power_w(self) -> float:
        return METER_POWER_CAP_W

    def read_identity(self) -> DeviceIdentity:
        values = self.reader.read(maps.IDENTITY)
        serial = checked_serial(str(values["serial_number"]), "holding 56..63")
        return DeviceIdentity(serial_number=serial, model=f"IAMMeter {self.model}",
                              extra={"register_map": maps.live_map(self.link.transport, self.model).name})

    def read(self) -> MeterReading:
        """One poll, normalized: grid power + = import, energy counters in Wh."""
        values = self.reader.read(maps.live_map(self.link.transport, self.model))
        reading = _normalize(values, maps.PHASES if self.model == maps.WEM3080T else ("a",))
        check_meter(reading, self.max_power_w)
        self.withhold_bad_counters(reading, ("grid_import_wh", "grid_export_wh"), per_kwh=1000.0)
        reading.energy_kwh = _kwh(reading.grid_import_wh)
        return reading


def _signed_power(values: Mapping[str, Value], phase: str) -> float | None:
    power = number(values, f"power_{phase}")
    if power is not None and number(values, f"direction_{phase}") == 1:  # RTU: 1 = reverse
        return -power
    return power


def _wh(kwh: float | None) -> float | None:
    return round(kwh * 1000.0, 3) if kwh is not None else None


def _kwh(wh: float | None) -> float | None:
    return round(wh / 1000.0, 6) if wh is not None else None


def _normalize(values: Mapping[str, Value], phases: tuple[str, ...]) -> MeterReading:
    powers = {p: _signed_power(values, p) for p in phases}
    grid_power = number(values, "power_total")
    if grid_power is None:
        grid_power = total({p: v for p, v in powers.items() if v is not None}, list(phases))
    imported = number(values, "import_total_kwh")
    exported = number(values, "export_total_kwh")
    if imported is None:  # single-phase maps have only the phase counters
        imported = number(values, "import_a_kwh")
        exported = number(values, "export_a_kwh")
    reading = MeterReading(
        grid_power_w=grid_power,
        grid_voltage_v=number(values, "voltage_a"),
        grid_current_a=number(values, "current_a"),
        grid_frequency_hz=number(values, "frequency"),
        grid_import_wh=_wh(imported),
        grid_export_wh=_wh(exported),
        power_factor=number(values, "pf_a"),
    )
    for phase in phases:
        setattr(reading, f"voltage_phase_{phase}", number(values, f"voltage_{phase}"))
        setattr(reading, f"current_phase_{phase}", number(values, f"current_{phase}"))
        setattr(reading, f"power_phase_{phase}", powers[phase])
    return reading
