"""Register values of each simulated Modbus device, computed from the plant.

Each function turns one :class:`PlantState` (plus the state at local midnight, for the
"today" counters) into field values in the contract's units and signs, keyed by the
driver's register-map field names. The register map's encoder then converts them to
the device's own words, scales and sign conventions.
"""

from __future__ import annotations

from adapters.iammeter import registers as iam
from adapters.modbus.registers import Value
from adapters.simulators.plant import PlantState

GRID_V = 230.0
GRID_HZ = 50.0
PV_STRING_V = 380.0
PV_SPLIT = 0.55  # share of MPPT 1; the rest on MPPT 2


def counters(now: PlantState, midnight: PlantState) -> dict[str, Value]:
    """Today and lifetime kWh counters under the readings' field names."""
    pairs = {"pv": "pv_kwh", "load": "load_kwh", "batt_charge": "charge_kwh",
             "batt_discharge": "discharge_kwh", "grid_import": "import_kwh", "grid_export": "export_kwh"}
    values: dict[str, Value] = {}
    for name, attr in pairs.items():
        values[f"{name}_total_kwh"] = getattr(now, attr)
        values[f"{name}_today_kwh"] = getattr(now, attr) - getattr(midnight, attr)
    return values


def _pv_strings(pv_w: float) -> dict[str, Value]:
    pv1 = round(pv_w * PV_SPLIT)
    pv2 = pv_w - pv1
    volts = PV_STRING_V if pv_w > 0 else 0.0
    return {"pv1_power": pv1, "pv2_power": pv2, "pv3_power": 0, "pv4_power": 0,
            "pv1_voltage": volts, "pv2_voltage": volts,
            "pv1_current": pv1 / volts if volts else 0.0, "pv2_current": pv2 / volts if volts else 0.0}


def _battery(state: PlantState, volts: float) -> dict[str, Value]:
    return {"battery_soc": round(state.soc), "battery_voltage": volts,
            "battery_power": state.battery_w, "battery_current": state.battery_w / volts,
            "battery_temp": 25.0}


def battery_volts(soc: float, nominal: float) -> float:
    """A plausible pack voltage: 95 % of nominal when empty, 105 % when full."""
    return round(nominal * (0.95 + 0.1 * soc / 100.0), 2)


def powdrive_values(now: PlantState, midnight: PlantState, *, three_phase: bool, hv: bool
                    ) -> dict[str, Value]:
    """Deye-family live values (contract signs; the map applies Deye's battery sign)."""
    values: dict[str, Value] = {
        "running_state": 2, "grid_frequency": GRID_HZ, "heatsink_temp": 38.5,
        "dc_transformer_temp": 35.0, "load_power": now.load_w, "grid_power": now.grid_w,
        "inverter_power": now.load_w - now.grid_w,
        **_pv_strings(now.pv_w), **_battery(now, battery_volts(now.soc, 400.0 if hv else 51.2)),
        **counters(now, midnight),
    }
    if three_phase:
        for i in (1, 2, 3):
            values[f"grid_voltage_l{i}"] = GRID_V
            values[f"grid_power_l{i}"] = now.grid_w / 3
            values[f"load_power_l{i}"] = now.load_w / 3
    else:
        values["grid_voltage"] = GRID_V
    return values


def senergy_values(now: PlantState, midnight: PlantState) -> dict[str, Value]:
    """Senergy live values (contract signs; the map applies the device's battery sign)."""
    inverter_w = now.pv_w - now.battery_w
    values: dict[str, Value] = {
        "phase_a_voltage": GRID_V, "phase_a_current": abs(inverter_w) / GRID_V,
        "phase_a_power": inverter_w, "phase_a_frequency": GRID_HZ, "active_power": inverter_w,
        "inner_temp": 41, "inverter_mode": 3, "error_code": 0,
        "grid_power_r": now.grid_w, "grid_power_s": 0, "grid_power_t": 0,
        "load_power_r": now.load_w, "load_power_s": 0, "load_power_t": 0,
        "grid_frequency": GRID_HZ,
        **_pv_strings(now.pv_w), **_battery(now, battery_volts(now.soc, 51.2)),
        **counters(now, midnight),
    }
    values["battery_temp"] = 24
    return values


def iammeter_values(now: PlantState, *, model: str, rtu: bool) -> dict[str, Value]:
    """Meter values: the plant's grid connection, split evenly over the phases."""
    phases = iam.PHASES if model == iam.WEM3080T else ("a",)
    share = 1.0 / len(phases)
    values: dict[str, Value] = {"frequency": GRID_HZ, "power_total": now.grid_w,
                                "import_total_kwh": now.import_kwh, "export_total_kwh": now.export_kwh}
    for phase in phases:
        power = now.grid_w * share
        values |= {f"voltage_{phase}": GRID_V, f"current_{phase}": abs(power) / GRID_V,
                   f"power_{phase}": abs(power) if rtu else power, f"pf_{phase}": 0.98,
                   f"import_{phase}_kwh": now.import_kwh * share,
                   f"export_{phase}_kwh": now.export_kwh * share}
        if rtu:
            values[f"direction_{phase}"] = 1 if power < 0 else 0
    return values
