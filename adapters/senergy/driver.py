"""Senergy SE-series hybrid inverter driver (Modbus RTU, TCP or RTU over TCP)."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.modbus.driver import INVERTER_TOTALS, ModbusDriver, fill_inverter_counters, number, total
from adapters.modbus.plausibility import check_inverter, checked_serial
from adapters.modbus.registers import Value
from adapters.readings import DeviceIdentity, InverterReading
from adapters.senergy import registers as maps


class SenergyDriver(ModbusDriver):
    """Reads a Senergy hybrid inverter."""

    adapter_type = "senergy"

    def read_identity(self) -> DeviceIdentity:
        values = self.reader.read(maps.IDENTITY)
        serial = checked_serial(str(values["serial_number"]), "holding 0x1A10..0x1A17")
        model = str(values.get("model", "")).strip()
        return DeviceIdentity(
            serial_number=serial,
            model=model if model.isprintable() and model else "Senergy hybrid inverter",
            extra={"rated_power_w": number(values, "rated_power"),
                   "mppt_count": number(values, "mppt_count"),
                   "grid_phases": number(values, "grid_phases"),
                   "protocol_version": number(values, "protocol_version")},
        )

    def read(self) -> InverterReading:
        """One poll of the live-data registers, normalized to the contract."""
        self.identify()  # the rated power bounds the plausibility check
        regmap = maps.live_map(
            battery_power_sign=int(self.config.get("battery_power_sign", maps.DEFAULT_BATTERY_POWER_SIGN)),
            grid_power_sign=int(self.config.get("grid_power_sign", maps.DEFAULT_GRID_POWER_SIGN)))
        values = self.reader.read(regmap)
        reading = self._normalize(values)
        check_inverter(reading, self.max_power_w)
        self.withhold_bad_counters(reading, INVERTER_TOTALS)
        return reading

    def _normalize(self, values: Mapping[str, Value]) -> InverterReading:
        load = total(values, maps.LOAD_POWER_FIELDS)
        reading = InverterReading(
            pv_power_w=total(values, maps.PV_POWER_FIELDS),
            load_power_w=max(0.0, load) if load is not None else None,
            grid_power_w=total(values, maps.GRID_POWER_FIELDS),
            batt_power_w=number(values, "battery_power"),
            batt_voltage_v=number(values, "battery_voltage"),
            batt_current_a=number(values, "battery_current"),
            soc=number(values, "battery_soc"),
            inverter_mode=int(values["inverter_mode"]) if "inverter_mode" in values else None,
            inverter_temp_c=number(values, "inner_temp"),
            grid_voltage_v=number(values, "phase_a_voltage"),
            grid_frequency_hz=number(values, "grid_frequency"),
            extra={k: float(v) for k in ("pv1_voltage", "pv1_current", "pv2_voltage", "pv2_current",
                                         "battery_temp", "active_power", "error_code", *maps.PV_POWER_FIELDS)
                   if isinstance(v := values.get(k), int | float)},
        )
        fill_inverter_counters(reading, values)
        return reading
