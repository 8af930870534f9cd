"""Typed, normalized readings returned by drivers.

Units and signs follow the contract (ARCHITECTURE.md "Units and signs"):
W, V, A, °C, %, kWh. ``grid_power_w`` > 0 means importing. Battery power and current
> 0 mean charging. PV and load are >= 0. Field names are the spec's sample column
names where one exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeviceIdentity:
    """What ``identify()`` returns: the device's own serial number and model."""

    serial_number: str
    model: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class InverterReading:
    """One poll of a hybrid inverter (columns of ``energy_samples`` plus counters)."""

    pv_power_w: float | None = None
    load_power_w: float | None = None
    grid_power_w: float | None = None
    batt_power_w: float | None = None
    batt_voltage_v: float | None = None
    batt_current_a: float | None = None
    soc: float | None = None
    inverter_mode: int | None = None
    inverter_temp_c: float | None = None
    grid_voltage_v: float | None = None
    grid_frequency_hz: float | None = None
    # Device energy counters. "today" counters reset at the device's midnight;
    # "total" counters are lifetime. Rollups prefer these to integrating power.
    pv_today_kwh: float | None = None
    load_today_kwh: float | None = None
    batt_charge_today_kwh: float | None = None
    batt_discharge_today_kwh: float | None = None
    grid_import_today_kwh: float | None = None
    grid_export_today_kwh: float | None = None
    pv_total_kwh: float | None = None
    load_total_kwh: float | None = None
    batt_charge_total_kwh: float | None = None
    batt_discharge_total_kwh: float | None = None
    grid_import_total_kwh: float | None = None
    grid_export_total_kwh: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    adapter_id: str | None = None

    kind = "inverter"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MeterReading:
    """One poll of an energy meter (columns of ``meter_samples``)."""

    grid_power_w: float | None = None
    grid_voltage_v: float | None = None
    grid_current_a: float | None = None
    grid_frequency_hz: float | None = None
    grid_import_wh: float | None = None
    grid_export_wh: float | None = None
    energy_kwh: float | None = None
    power_factor: float | None = None
    voltage_phase_a: float | None = None
    voltage_phase_b: float | None = None
    voltage_phase_c: float | None = None
    current_phase_a: float | None = None
    current_phase_b: float | None = None
    current_phase_c: float | None = None
    power_phase_a: float | None = None
    power_phase_b: float | None = None
    power_phase_c: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    adapter_id: str | None = None

    kind = "meter"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CellReading:
    """One cell of a battery unit (columns of ``battery_cell_samples``)."""

    index: int
    voltage: float | None = None
    temperature: float | None = None
    soc: float | None = None
    volt_st: str | None = None
    temp_st: str | None = None


@dataclass
class BatteryUnitReading:
    """One battery unit (module) of a pack (columns of ``battery_unit_samples``)."""

    index: int
    voltage: float | None = None
    current: float | None = None
    temperature: float | None = None
    soc: float | None = None
    power: float | None = None
    basic_st: str | None = None
    volt_st: str | None = None
    current_st: str | None = None
    temp_st: str | None = None
    soh_st: str | None = None
    coul_st: str | None = None
    heater_st: str | None = None
    bat_events: int | None = None
    power_events: int | None = None
    sys_events: int | None = None
    serial_number: str | None = None
    cycles: int | None = None
    capacity_ah: float | None = None
    cells: list[CellReading] = field(default_factory=list)


@dataclass
class BatteryPackReading:
    """One poll of a battery pack (``battery_bank_samples``) with its units and cells."""

    voltage: float | None = None
    current: float | None = None
    power: float | None = None
    temperature: float | None = None
    soc: float | None = None
    batteries_count: int | None = None
    cells_per_battery: int | None = None
    cycles: int | None = None
    units: list[BatteryUnitReading] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    adapter_id: str | None = None

    kind = "battery"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Reading = InverterReading | MeterReading | BatteryPackReading
