"""Typed, normalized readings returned by drivers.

Units and signs follow the contract (ARCHITECTURE.md "Units and signs"):
W, V, A, °C, %, kWh. ``grid_power_w`` > 0 means importing. Battery power and current
> 0 mean charging. PV and load are >= 0. Field names are the spec's sample column
names where one exists.

Every reading carries ``flags``: one line per value the device sent that could not be
proved (a garbled console column, an out-of-range cell, an implausible register). A
flagged value is left unknown (``None``) and the rest of the reading is kept; the poller
counts the flags in the device status.
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
    flags: list[str] = field(default_factory=list)
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
    flags: list[str] = field(default_factory=list)
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
    flags: list[str] = field(default_factory=list)
    adapter_id: str | None = None

    kind = "battery"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Reading = InverterReading | MeterReading | BatteryPackReading


def battery_pack_from_units(units: list[BatteryUnitReading], **fields: Any) -> BatteryPackReading:
    """Build a pack reading whose totals are derived from its present units.

    Voltage and temperature are means over the units that report them (the units sit in
    parallel). Current and power are sums, known only when every unit reports its own:
    a sum that leaves a unit out would understate the pack. SOC is weighted by capacity
    when every unit's capacity is known (else the mean). ``fields`` sets any other pack
    attribute (``extra``, ``cycles``, ``flags``...).
    """
    voltages = [u.voltage for u in units if u.voltage is not None]
    temps = [u.temperature for u in units if u.temperature is not None]
    pack = BatteryPackReading(
        voltage=_mean(voltages),
        current=_sum_of_all([u.current for u in units], 3),
        power=_sum_of_all([u.power for u in units], 1),
        temperature=_mean(temps),
        soc=_pack_soc(units),
        batteries_count=len(units),
        cells_per_battery=max((len(u.cells) for u in units), default=0) or None,
        units=units,
    )
    for name, value in fields.items():
        setattr(pack, name, value)
    return pack


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _sum_of_all(values: list[float | None], digits: int) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return round(sum(v for v in values if v is not None), digits)


def _pack_soc(units: list[BatteryUnitReading]) -> float | None:
    with_soc = [u for u in units if u.soc is not None]
    if not with_soc:
        return None
    if all(u.capacity_ah for u in with_soc):
        total = sum(u.capacity_ah or 0.0 for u in with_soc)
        return round(sum((u.soc or 0.0) * (u.capacity_ah or 0.0) for u in with_soc) / total, 2)
    return round(sum(u.soc or 0.0 for u in with_soc) / len(with_soc), 2)
