"""What each kind of device publishes, as tables (one row per Home Assistant sensor).

A row names the key in the device's JSON state, the sensor's name, device class, state
class, unit and display precision, and the key the original system used in its unique id
(``legacy``; ``None`` where it had no such sensor, so the solarmon key is used).

Energy sensors are either lifetime totals (``total_increasing``, never decreasing) or the
system's energy of the local day (``total``, with ``last_reset`` at local midnight): both
are what Home Assistant's Energy panel accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.choices import HaKind

MEASUREMENT = "measurement"
TOTAL_INCREASING = "total_increasing"
TOTAL = "total"


@dataclass(frozen=True)
class SensorSpec:
    key: str
    name: str
    device_class: str | None
    state_class: str | None
    unit: str | None
    legacy: str | None = None
    precision: int | None = None

    @property
    def is_energy(self) -> bool:
        return self.device_class == "energy"

    @property
    def is_today(self) -> bool:
        return self.state_class == TOTAL


def _power(key: str, name: str, legacy: str | None = None) -> SensorSpec:
    return SensorSpec(key, name, "power", MEASUREMENT, "W", legacy, 0)


def _energy(key: str, name: str, legacy: str | None = None) -> SensorSpec:
    return SensorSpec(key, name, "energy", TOTAL_INCREASING, "kWh", legacy, 2)


def _today(key: str, name: str, legacy: str | None = None) -> SensorSpec:
    return SensorSpec(key, name, "energy", TOTAL, "kWh", legacy, 2)


def _soc(key: str, legacy: str | None = None) -> SensorSpec:
    return SensorSpec(key, "State of charge", "battery", MEASUREMENT, "%", legacy, 0)


def _v(key: str, name: str, legacy: str | None = None, precision: int = 1) -> SensorSpec:
    return SensorSpec(key, name, "voltage", MEASUREMENT, "V", legacy, precision)


def _a(key: str, name: str, legacy: str | None = None) -> SensorSpec:
    return SensorSpec(key, name, "current", MEASUREMENT, "A", legacy, 1)


def _temp(key: str, name: str, legacy: str | None = None) -> SensorSpec:
    return SensorSpec(key, name, "temperature", MEASUREMENT, "°C", legacy, 1)


FLOW_ENERGY = [
    _energy("pv_total_kwh", "PV energy", "total_solar_energy"),
    _energy("load_total_kwh", "Load energy", "total_load_energy"),
    _energy("grid_import_total_kwh", "Grid import", "total_grid_import"),
    _energy("grid_export_total_kwh", "Grid export", "total_grid_export"),
    _energy("batt_charge_total_kwh", "Battery charge energy", "total_battery_charge"),
    _energy("batt_discharge_total_kwh", "Battery discharge energy", "total_battery_discharge"),
]

INVERTER = [
    _power("pv_power_w", "PV power", "pv_power_w"),
    _power("load_power_w", "Load power", "load_power_w"),
    _power("grid_power_w", "Grid power", "grid_power_w"),
    _power("batt_power_w", "Battery power", "batt_power_w"),
    _soc("soc", "batt_soc_pct"),
    _v("batt_voltage_v", "Battery voltage", "batt_voltage_v", 2),
    _a("batt_current_a", "Battery current", "batt_current_a"),
    _temp("inverter_temp_c", "Inverter temperature", "inverter_temp_c"),
    _v("grid_voltage_v", "Grid voltage", "grid_voltage_v"),
    SensorSpec("grid_frequency_hz", "Grid frequency", "frequency", MEASUREMENT, "Hz", "grid_frequency_hz", 2),
    *FLOW_ENERGY,
]

METER = [
    _power("grid_power_w", "Grid power", "grid_power_w"),
    _v("grid_voltage_v", "Grid voltage", "grid_voltage_v"),
    _a("grid_current_a", "Grid current", "grid_current_a"),
    SensorSpec("grid_frequency_hz", "Grid frequency", "frequency", MEASUREMENT, "Hz", "grid_frequency_hz", 2),
    SensorSpec("power_factor", "Power factor", "power_factor", MEASUREMENT, None, "power_factor", 2),
    _energy("grid_import_total_kwh", "Grid import", "energy_kwh"),
    _energy("grid_export_total_kwh", "Grid export"),
]
METER_PHASES = [
    *[_v(f"voltage_phase_{p}", f"Phase {p.upper()} voltage", f"voltage_phase_{p}") for p in "abc"],
    *[_a(f"current_phase_{p}", f"Phase {p.upper()} current", f"current_phase_{p}") for p in "abc"],
    *[_power(f"power_phase_{p}", f"Phase {p.upper()} power", f"power_phase_{p}") for p in "abc"],
]

PACK = [
    _soc("soc", "soc_pct"),
    _v("voltage", "Voltage", "voltage_v", 2),
    _a("current", "Current", "current_a"),
    _power("power_w", "Power", "power_w"),
    _temp("temperature", "Temperature", "temperature_c"),
    SensorSpec("cycles", "Cycles", None, TOTAL_INCREASING, None, None, 0),
    SensorSpec("cell_min_v", "Lowest cell voltage", "voltage", MEASUREMENT, "V", None, 3),
    SensorSpec("cell_max_v", "Highest cell voltage", "voltage", MEASUREMENT, "V", None, 3),
    SensorSpec("cell_delta_v", "Cell voltage spread", "voltage", MEASUREMENT, "V", None, 3),
    _energy("batt_charge_total_kwh", "Charge energy", "total_battery_charge"),
    _energy("batt_discharge_total_kwh", "Discharge energy", "total_battery_discharge"),
]

BATTERY = [
    _power("power_w", "Power", "battery_power"),
    _v("voltage", "Voltage", "pack_voltage", 2),
    _a("current", "Current", "pack_current"),
    _soc("soc", "state_of_charge"),
    _temp("temperature", "Temperature", "temperature"),
    SensorSpec("cycles", "Cycles", None, TOTAL_INCREASING, None, None, 0),
]

GROUP_POWER = [
    _power("pv_power_w", "PV power", "solar_power"),
    _power("load_power_w", "Load power", "load_power"),
    _power("grid_power_w", "Grid power", "grid_power"),
    _power("batt_power_w", "Battery power", "battery_power"),
    _soc("batt_soc_pct"),
]

ARRAY = [*GROUP_POWER, *FLOW_ENERGY]

BATTERY_ARRAY = [
    _power("power_w", "Battery power", "battery_power"),
    _soc("soc", "total_soc_pct"),
    _energy("batt_charge_total_kwh", "Battery charge energy", "total_battery_charge"),
    _energy("batt_discharge_total_kwh", "Battery discharge energy", "total_battery_discharge"),
]

SYSTEM_TODAY = [
    _today("pv_today_kwh", "PV energy today", "today_solar_energy"),
    _today("load_today_kwh", "Load energy today", "today_load_energy"),
    _today("grid_import_today_kwh", "Grid import today", "today_grid_import"),
    _today("grid_export_today_kwh", "Grid export today", "today_grid_export"),
    _today("batt_charge_today_kwh", "Battery charge today", "today_battery_charge"),
    _today("batt_discharge_today_kwh", "Battery discharge today", "today_battery_discharge"),
]

SYSTEM = [*GROUP_POWER, *FLOW_ENERGY, *SYSTEM_TODAY]

BY_KIND: dict[str, list[SensorSpec]] = {
    HaKind.SYSTEM: SYSTEM, HaKind.ARRAY: ARRAY, HaKind.BATTERY_ARRAY: BATTERY_ARRAY,
    HaKind.INVERTER: INVERTER, HaKind.METER: METER, HaKind.PACK: PACK, HaKind.BATTERY: BATTERY,
}


def cell_sensor(index: int) -> SensorSpec:
    """The voltage sensor of a unit's cell ``index`` (1-based, as users count cells)."""
    return SensorSpec(f"cell_{index}_voltage", f"Cell {index} voltage", "voltage", MEASUREMENT, "V",
                      f"cell_{index}_voltage", 3)
