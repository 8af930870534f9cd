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


def battery_pack_from_units(units: list[BatteryUnitReading], **fields: Any) -> BatteryPackReading:
    """Build a pack reading whose totals are derived from its present units.

    Voltage and temperature are means (the units sit in parallel), current and power are
    sums, SOC is weighted by capacity when every unit's capacity is known (else the mean).
    ``fields`` sets any other pack attribute (``extra``, ``cycles``, ...).
    """
    voltages = [u.voltage for u in units if u.voltage is not None]
    currents = [u.current for u in units if u.current is not None]
    powers = [u.power for u in units if u.power is not None]
    temps = [u.temperature for u in units if u.temperature is not None]
    pack = BatteryPackReading(
        voltage=_mean(voltages),
        current=round(sum(currents), 3) if currents else None,
        power=round(sum(powers), 1) if powers else None,
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


def _pack_soc(units: list[BatteryUnitReading]) -> float | None:
    with_soc = [u for u in units if u.soc is not None]
    if not with_soc:
        return None
    if all(u.capacity_ah for u in with_soc):
        total = sum(u.capacity_ah or 0.0 for u in with_soc)
        return round(sum((u.soc or 0.0) * (u.capacity_ah or 0.0) for u in with_soc) / total, 2)
    return round(sum(u.soc or 0.0 for u in with_soc) / len(with_soc), 2)


CELL_VOLTAGE_RANGE = (1.0, 5.0)
"""Volts; a lithium cell reported outside this range is a decoding or wiring fault."""


def battery_plausibility_problems(pack: BatteryPackReading) -> list[str]:
    """Why ``pack`` cannot be physically true (empty when plausible).

    Checks the contract's ranges: every cell within 1-5 V, every SOC within 0-100 %.
    """
    problems: list[str] = []
    low, high = CELL_VOLTAGE_RANGE
    for unit in pack.units:
        if unit.soc is not None and not 0.0 <= unit.soc <= 100.0:
            problems.append(f"unit {unit.index}: SOC {unit.soc} % outside 0-100")
        for cell in unit.cells:
            if cell.voltage is not None and not low <= cell.voltage <= high:
                problems.append(
                    f"unit {unit.index} cell {cell.index}: {cell.voltage} V outside {low}-{high} V")
    if pack.soc is not None and not 0.0 <= pack.soc <= 100.0:
        problems.append(f"pack SOC {pack.soc} % outside 0-100")
    return problems
