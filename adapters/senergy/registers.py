"""Senergy SE-series hybrid register map (protocols.md §2), as data.

No vendor document was found; the map follows one third-party transcription, so every
fact here is (?) and the uncertain signs are configurable. FC03 holding registers,
32-bit values high word first, strings two ASCII characters per register.

Signs after decoding (contract: battery + = charging, grid + = import):
- ``battery_current`` (0x2007) is + while charging on the device: used as is.
- ``battery_power`` (0x2009) reads − while charging, so it is multiplied by the config's
  ``battery_power_sign`` (default −1).
- grid power (0x1300..0x1304) is taken as + = import, multiplied by ``grid_power_sign``
  (default 1); "positive" accumulated grid energy (0x1306) is taken as import.
- The inverter's "total energy" (0x1021, whole kWh) and "today energy" (0x1027, Wh) are
  read as PV generation.
"""

from __future__ import annotations

from adapters.modbus.registers import Reg, RegisterMap, RegType

IDENTITY = RegisterMap("senergy-identity", "high_first", (
    Reg("model", 0x1A00, "str", length=8),
    Reg("serial_number", 0x1A10, "str", length=8),
    Reg("protocol_version", 0x1A18),
    Reg("mppt_count", 0x1A3B),
    Reg("rated_power", 0x1A46, unit="W"),
    Reg("grid_phases", 0x1A48),
), hex_addresses=True)


def _w(field: str, address: int, kind: RegType = "s32") -> Reg:
    """A 32-bit power in 0.1 W."""
    return Reg(field, address, kind, scale=0.1, unit="W")


def _kwh10(field: str, address: int) -> Reg:
    """A 32-bit energy counter in 10 Wh steps."""
    return Reg(field, address, "u32", scale=0.01, unit="kWh")


LIVE = RegisterMap("senergy", "high_first", (
    Reg("phase_a_voltage", 0x1001, scale=0.1, unit="V"),
    Reg("phase_a_current", 0x1002, scale=0.01, unit="A"),
    _w("phase_a_power", 0x1003),
    Reg("phase_a_frequency", 0x1005, scale=0.01, unit="Hz"),
    Reg("pv1_voltage", 0x1010, scale=0.1, unit="V"),
    Reg("pv1_current", 0x1011, scale=0.01, unit="A"),
    _w("pv1_power", 0x1012, "u32"),
    Reg("pv2_voltage", 0x1014, scale=0.1, unit="V"),
    Reg("pv2_current", 0x1015, scale=0.01, unit="A"),
    _w("pv2_power", 0x1016, "u32"),
    _w("pv3_power", 0x101A, "u32"),
    _w("pv4_power", 0x1040, "u32"),
    Reg("inner_temp", 0x101C, "s16", unit="°C"),
    Reg("inverter_mode", 0x101D),
    Reg("error_code", 0x101E, "u32"),
    Reg("pv_total_kwh", 0x1021, "u32", unit="kWh"),
    Reg("pv_today_kwh", 0x1027, "u32", scale=0.001, unit="kWh"),
    _w("active_power", 0x1037),
    _w("grid_power_r", 0x1300),
    _w("grid_power_s", 0x1302),
    _w("grid_power_t", 0x1304),
    _kwh10("grid_import_total_kwh", 0x1306),
    _kwh10("grid_export_total_kwh", 0x1308),
    _w("load_power_r", 0x130A),
    _w("load_power_s", 0x130C),
    _w("load_power_t", 0x130E),
    _kwh10("load_total_kwh", 0x1310),
    _kwh10("grid_import_today_kwh", 0x1332),
    _kwh10("grid_export_today_kwh", 0x1334),
    _kwh10("load_today_kwh", 0x1336),
    Reg("grid_frequency", 0x1338, scale=0.01, unit="Hz"),
    Reg("battery_soc", 0x2000, unit="%"),
    Reg("battery_temp", 0x2001, "s16", unit="°C"),
    Reg("battery_voltage", 0x2006, scale=0.1, unit="V"),
    Reg("battery_current", 0x2007, "s32", scale=0.01, unit="A"),
    _w("battery_power", 0x2009),
    _kwh10("batt_charge_today_kwh", 0x200B),
    _kwh10("batt_charge_total_kwh", 0x200D),
    _kwh10("batt_discharge_today_kwh", 0x200F),
    _kwh10("batt_discharge_total_kwh", 0x2011),
), hex_addresses=True)

PV_POWER_FIELDS = ["pv1_power", "pv2_power", "pv3_power", "pv4_power"]
GRID_POWER_FIELDS = ["grid_power_r", "grid_power_s", "grid_power_t"]
LOAD_POWER_FIELDS = ["load_power_r", "load_power_s", "load_power_t"]
DEFAULT_BATTERY_POWER_SIGN = -1
DEFAULT_GRID_POWER_SIGN = 1


def live_map(*, battery_power_sign: int = DEFAULT_BATTERY_POWER_SIGN,
             grid_power_sign: int = DEFAULT_GRID_POWER_SIGN) -> RegisterMap:
    """The live-data map with the configured signs applied."""
    return LIVE.with_sign(["battery_power"], battery_power_sign).with_sign(GRID_POWER_FIELDS,
                                                                           grid_power_sign)
