"""Powdrive / Deye-family register maps (protocols.md §1), as data.

All FC03 holding registers, 32-bit values low word first. Signs are converted to the
contract here: Deye reports battery power and current + = discharging, so those
entries carry ``sign=-1`` (+ = charging after decoding). Grid power + = import already.
Temperatures are ``(raw - 1000) × 0.1`` °C.

Profiles: ``single-phase`` (SUN-xK-SG0xLP1), ``three-phase`` (SG04LP3, LV battery) and
``three-phase-hv`` (SG01HP3). The profile follows device-type register 0
(:data:`PROFILE_BY_DEVICE_TYPE`); unknown codes fall back to single-phase.

Configurable facts marked (?) in the protocol notes, with their defaults:
- ``pv_power_scale`` (default 1): PV power counts 10 W per unit on some models (single-phase
  16 kW units, and some three-phase LV units); it multiplies the profile's own PV scale.
- ``hv_energy_scale`` (default 0.1 kWh per count): some HV units count whole kWh.
- The three-phase maps leave out the inverter output power (636/694): it is not part of
  a reading, and its own block would cost one more transaction per poll.
- Three-phase powers are 32-bit (low word at 622..653, high word at 687..690 / 656..659),
  which needs firmware with protocol V104 or later; older firmware reads 0 there.
"""

from __future__ import annotations

from adapters.modbus.registers import Reg, RegisterMap

SINGLE_PHASE = "single-phase"
THREE_PHASE = "three-phase"
THREE_PHASE_HV = "three-phase-hv"
PROFILES = (SINGLE_PHASE, THREE_PHASE, THREE_PHASE_HV)

# Device-type register 0 → profile (Deye doc reg 000; kellerza identity.py).
PROFILE_BY_DEVICE_TYPE: dict[int, str] = {
    0x0002: SINGLE_PHASE, 0x0003: SINGLE_PHASE, 0x0103: SINGLE_PHASE, 0x0200: SINGLE_PHASE,
    0x0300: SINGLE_PHASE,
    0x0004: THREE_PHASE, 0x0005: THREE_PHASE, 0x0500: THREE_PHASE,
    0x0006: THREE_PHASE_HV, 0x0600: THREE_PHASE_HV, 0x0601: THREE_PHASE_HV, 0x0602: THREE_PHASE_HV,
}

IDENTITY = RegisterMap("powdrive-identity", "low_first", (
    Reg("device_type", 0),
    Reg("modbus_address", 1),
    Reg("protocol_version", 2),
    Reg("serial_number", 3, "str", length=5),
    Reg("rated_power_1ph", 16, "u32", scale=0.1, unit="W"),
    Reg("rated_power_3ph", 20, "u32", scale=0.1, unit="W"),
    Reg("mppt_phases_3ph", 22),
))



def _temp(field: str, address: int) -> Reg:
    return Reg(field, address, scale=0.1, offset=1000, unit="°C")


def _kwh(field: str, address: int, *, wide: bool = False, high_word: int | None = None) -> Reg:
    return Reg(field, address, "u32" if wide else "u16", scale=0.1, unit="kWh", high_word=high_word)


SINGLE_PHASE_MAP = RegisterMap(SINGLE_PHASE, "low_first", (
    Reg("running_state", 59),
    Reg("pv1_power", 186, unit="W"),
    Reg("pv2_power", 187, unit="W"),
    Reg("pv3_power", 188, unit="W"),
    Reg("pv4_power", 189, unit="W"),
    Reg("pv1_voltage", 109, scale=0.1, unit="V"),
    Reg("pv1_current", 110, scale=0.1, unit="A"),
    Reg("pv2_voltage", 111, scale=0.1, unit="V"),
    Reg("pv2_current", 112, scale=0.1, unit="A"),
    Reg("load_power", 178, "s16", unit="W"),
    Reg("grid_power", 169, "s16", unit="W"),
    Reg("grid_voltage", 150, scale=0.1, unit="V"),
    Reg("grid_frequency", 79, scale=0.01, unit="Hz"),
    Reg("inverter_power", 175, "s16", unit="W"),
    _temp("battery_temp", 182),
    Reg("battery_voltage", 183, scale=0.01, unit="V"),
    Reg("battery_soc", 184, unit="%"),
    Reg("battery_power", 190, "s16", sign=-1, unit="W"),
    Reg("battery_current", 191, "s16", scale=0.01, sign=-1, unit="A"),
    _temp("dc_transformer_temp", 90),
    _temp("heatsink_temp", 91),
    _kwh("batt_charge_today_kwh", 70),
    _kwh("batt_discharge_today_kwh", 71),
    _kwh("batt_charge_total_kwh", 72, wide=True),
    _kwh("batt_discharge_total_kwh", 74, wide=True),
    _kwh("grid_import_today_kwh", 76),
    _kwh("grid_export_today_kwh", 77),
    _kwh("grid_import_total_kwh", 78, wide=True, high_word=80),
    _kwh("grid_export_total_kwh", 81, wide=True),
    _kwh("load_today_kwh", 84),
    _kwh("load_total_kwh", 85, wide=True),
    _kwh("pv_total_kwh", 96, wide=True),
    _kwh("pv_today_kwh", 108),
))

_THREE_PHASE_ENTRIES = (
    Reg("running_state", 500),
    _kwh("batt_charge_today_kwh", 514),
    _kwh("batt_discharge_today_kwh", 515),
    _kwh("batt_charge_total_kwh", 516, wide=True),
    _kwh("batt_discharge_total_kwh", 518, wide=True),
    _kwh("grid_import_today_kwh", 520),
    _kwh("grid_export_today_kwh", 521),
    _kwh("grid_import_total_kwh", 522, wide=True),
    _kwh("grid_export_total_kwh", 524, wide=True),
    _kwh("load_today_kwh", 526),
    _kwh("load_total_kwh", 527, wide=True),
    _kwh("pv_today_kwh", 529),
    _kwh("pv_total_kwh", 534, wide=True),
    _temp("dc_transformer_temp", 540),
    _temp("heatsink_temp", 541),
    _temp("battery_temp", 586),
    Reg("battery_voltage", 587, scale=0.01, unit="V"),
    Reg("battery_soc", 588, unit="%"),
    Reg("battery_power", 590, "s16", sign=-1, unit="W"),
    Reg("battery_current", 591, "s16", scale=0.01, sign=-1, unit="A"),
    Reg("grid_voltage_l1", 598, scale=0.1, unit="V"),
    Reg("grid_voltage_l2", 599, scale=0.1, unit="V"),
    Reg("grid_voltage_l3", 600, scale=0.1, unit="V"),
    Reg("grid_frequency", 609, scale=0.01, unit="Hz"),
    Reg("grid_power_l1", 622, "s32", high_word=687, unit="W"),
    Reg("grid_power_l2", 623, "s32", high_word=688, unit="W"),
    Reg("grid_power_l3", 624, "s32", high_word=689, unit="W"),
    Reg("grid_power", 625, "s32", high_word=690, unit="W"),
    Reg("load_power_l1", 650, "s32", high_word=656, unit="W"),
    Reg("load_power_l2", 651, "s32", high_word=657, unit="W"),
    Reg("load_power_l3", 652, "s32", high_word=658, unit="W"),
    Reg("load_power", 653, "s32", high_word=659, unit="W"),
    Reg("pv1_power", 672, unit="W"),
    Reg("pv2_power", 673, unit="W"),
    Reg("pv3_power", 674, unit="W"),
    Reg("pv4_power", 675, unit="W"),
    Reg("pv1_voltage", 676, scale=0.1, unit="V"),
    Reg("pv1_current", 677, scale=0.1, unit="A"),
    Reg("pv2_voltage", 678, scale=0.1, unit="V"),
    Reg("pv2_current", 679, scale=0.1, unit="A"),
)

THREE_PHASE_MAP = RegisterMap(THREE_PHASE, "low_first", _THREE_PHASE_ENTRIES)

PV_POWER_FIELDS = ["pv1_power", "pv2_power", "pv3_power", "pv4_power"]
HV_PV_POWER_FIELDS = [*PV_POWER_FIELDS, "pv5_power", "pv6_power", "pv7_power", "pv8_power"]
ENERGY_FIELDS = [e.field for e in _THREE_PHASE_ENTRIES if e.field.endswith("_kwh")]

# HV: battery voltage × 0.1 V, battery and PV power × 10 W; PV5-8 exist on the bigger units.
THREE_PHASE_HV_MAP = RegisterMap(THREE_PHASE_HV, "low_first", (
    *_THREE_PHASE_ENTRIES,
    Reg("pv5_power", 727, unit="W", optional=True),
    Reg("pv6_power", 728, unit="W", optional=True),
    Reg("pv7_power", 729, unit="W", optional=True),
    Reg("pv8_power", 730, unit="W", optional=True),
)).with_factor(["battery_voltage"], 10).with_factor(["battery_power", *HV_PV_POWER_FIELDS], 10)

MAPS = {SINGLE_PHASE: SINGLE_PHASE_MAP, THREE_PHASE: THREE_PHASE_MAP, THREE_PHASE_HV: THREE_PHASE_HV_MAP}


def profile_for_device_type(code: int) -> str:
    """The register profile of device-type code ``code`` (single-phase when unknown)."""
    return PROFILE_BY_DEVICE_TYPE.get(code, SINGLE_PHASE)


def live_map(profile: str, *, pv_power_scale: float = 1, hv_energy_scale: float = 0.1) -> RegisterMap:
    """The live-data map of ``profile`` with the configurable scales applied."""
    regmap = MAPS[profile]
    if pv_power_scale != 1:
        regmap = regmap.with_factor(HV_PV_POWER_FIELDS if profile == THREE_PHASE_HV else PV_POWER_FIELDS,
                                    pv_power_scale)
    if profile == THREE_PHASE_HV and hv_energy_scale != 0.1:
        regmap = regmap.with_factor(ENERGY_FIELDS, hv_energy_scale / 0.1)
    return regmap
