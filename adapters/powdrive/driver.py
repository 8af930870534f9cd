"""Powdrive / Deye-family hybrid inverter driver (Modbus RTU, TCP or RTU over TCP)."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.errors import ConfigError
from adapters.modbus.driver import INVERTER_TOTALS, ModbusDriver, fill_inverter_counters, number, total
from adapters.modbus.plausibility import check_inverter, checked_serial
from adapters.modbus.registers import Value
from adapters.powdrive import registers as maps
from adapters.readings import DeviceIdentity, InverterReading


class PowdriveDriver(ModbusDriver):
    """Reads a Deye-family inverter; the register profile follows device-type register 0."""

    adapter_type = "powdrive"

    @property
    def profile(self) -> str:
        """The register profile in use: the configured one, or the one register 0 names."""
        configured = str(self.config.get("profile", "auto"))
        if configured != "auto":
            if configured not in maps.PROFILES:
                raise ConfigError(f"unknown powdrive profile {configured!r}")
            return configured
        return str(self.identify().extra["detected_profile"])

    def read_identity(self) -> DeviceIdentity:
        values = self.reader.read(maps.IDENTITY)
        serial = checked_serial(str(values["serial_number"]), "holding 3..7")
        code = int(number(values, "device_type") or 0)
        detected = maps.profile_for_device_type(code)
        rated_field = "rated_power_1ph" if detected == maps.SINGLE_PHASE else "rated_power_3ph"
        version = int(number(values, "protocol_version") or 0)
        return DeviceIdentity(
            serial_number=serial,
            model=f"Deye-family {detected} inverter (device type 0x{code:04X})",
            extra={"device_type": code, "detected_profile": detected,
                   "protocol_version": f"{version >> 8}.{version & 0xFF}",
                   "rated_power_w": number(values, rated_field)},
        )

    def read(self) -> InverterReading:
        """One poll of the live-data registers, normalized to the contract."""
        regmap = maps.live_map(self.profile,
                               pv_power_scale=float(self.config.get("pv_power_scale", 1)),
                               hv_energy_scale=float(self.config.get("hv_energy_scale", 0.1)))
        values = self.reader.read(regmap)
        reading = self._normalize(values)
        check_inverter(reading, self.max_power_w)
        self.withhold_bad_counters(reading, INVERTER_TOTALS)
        return reading

    def _normalize(self, values: Mapping[str, Value]) -> InverterReading:
        grid_v = number(values, "grid_voltage")
        if grid_v is None:
            grid_v = number(values, "grid_voltage_l1")
        load = number(values, "load_power")
        reading = InverterReading(
            pv_power_w=total(values, maps.HV_PV_POWER_FIELDS),
            load_power_w=max(0.0, load) if load is not None else None,
            grid_power_w=number(values, "grid_power"),
            batt_power_w=number(values, "battery_power"),
            batt_voltage_v=number(values, "battery_voltage"),
            batt_current_a=number(values, "battery_current"),
            soc=number(values, "battery_soc"),
            inverter_mode=int(values["running_state"]) if "running_state" in values else None,
            inverter_temp_c=number(values, "heatsink_temp"),
            grid_voltage_v=grid_v,
            grid_frequency_hz=number(values, "grid_frequency"),
            extra={"profile": self.profile, **_extras(values)},
        )
        fill_inverter_counters(reading, values)
        return reading


def _extras(values: Mapping[str, Value]) -> dict[str, float]:
    """Per-phase and per-MPPT detail that has no column of its own."""
    keys = ("pv1_voltage", "pv1_current", "pv2_voltage", "pv2_current", "battery_temp",
            "dc_transformer_temp", "inverter_power", "grid_voltage_l2", "grid_voltage_l3",
            "grid_power_l1", "grid_power_l2", "grid_power_l3",
            "load_power_l1", "load_power_l2", "load_power_l3", *maps.HV_PV_POWER_FIELDS)
    return {k: float(v) for k in keys if isinstance(v := values.get(k), int | float)}
