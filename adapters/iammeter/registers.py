"""IAMMeter register maps (protocols.md §5), as data.

FC03 holding registers, 32-bit values high word first. The map follows the transport:
``tcp`` uses the Modbus TCP map (WEM3080T: 3 phases from register 0; WEM3080: 8 registers);
``rtu`` and ``rtu_over_tcp`` use the RS485 map from 0x48.

Signs: forward energy is import. In the TCP map power is S32 with + = import. In the
RTU map power is unsigned and the high byte of each phase's direction register says
0 = forward (import), 1 = reverse (export).

(?) facts and their defaults:
- The serial number is read from registers 56..63 (8 registers, ASCII) on every model and
  transport; only one third-party source names it, the official integration does not.
- RTU energy counters are 1/800 kWh per count for both models; a single-phase meter
  fills only the phase A block.
"""

from __future__ import annotations

from adapters.modbus.registers import Reg, RegisterMap

WEM3080 = "WEM3080"
WEM3080T = "WEM3080T"
MODELS = (WEM3080, WEM3080T)
PHASES = ("a", "b", "c")

IDENTITY = RegisterMap("iammeter-identity", "high_first", (
    Reg("serial_number", 56, "str", length=8),
))


def _tcp_phase(phase: str, base: int, kwh_per_count: float) -> tuple[Reg, ...]:
    return (
        Reg(f"voltage_{phase}", base, scale=0.01, unit="V"),
        Reg(f"current_{phase}", base + 1, scale=0.01, unit="A"),
        Reg(f"power_{phase}", base + 2, "s32", unit="W"),
        Reg(f"import_{phase}_kwh", base + 4, "u32", scale=kwh_per_count, unit="kWh"),
        Reg(f"export_{phase}_kwh", base + 6, "u32", scale=kwh_per_count, unit="kWh"),
    )


TCP_WEM3080 = RegisterMap("iammeter-tcp-wem3080", "high_first", _tcp_phase("a", 0, 1 / 3200))

TCP_WEM3080T = RegisterMap("iammeter-tcp-wem3080t", "high_first", (
    *(reg for i, phase in enumerate(PHASES) for reg in (
        *_tcp_phase(phase, 10 * i, 1 / 800),
        Reg(f"pf_{phase}", 10 * i + 8, scale=0.001))),
    Reg("frequency", 30, scale=0.01, unit="Hz"),
    Reg("power_total", 32, "s32", unit="W"),
    Reg("import_total_kwh", 34, "u32", scale=1 / 800, unit="kWh"),
    Reg("export_total_kwh", 36, "u32", scale=1 / 800, unit="kWh"),
))


def _rtu_phase(phase: str, base: int) -> tuple[Reg, ...]:
    return (
        Reg(f"voltage_{phase}", base, scale=0.01, unit="V"),
        Reg(f"current_{phase}", base + 1, scale=0.01, unit="A"),
        Reg(f"power_{phase}", base + 2, unit="W"),  # magnitude; direction_{phase} gives the sign
        Reg(f"import_{phase}_kwh", base + 3, "u32", scale=1 / 800, unit="kWh"),
        Reg(f"pf_{phase}", base + 5, scale=0.001),
        Reg(f"export_{phase}_kwh", base + 6, "u32", scale=1 / 800, unit="kWh"),
        Reg(f"direction_{phase}", base + 8, "hi8"),
    )


RTU_WEM3080 = RegisterMap("iammeter-rtu-wem3080", "high_first", (
    *_rtu_phase("a", 0x48),
    Reg("frequency", 0x65, scale=0.01, unit="Hz"),
), hex_addresses=True)

RTU_WEM3080T = RegisterMap("iammeter-rtu-wem3080t", "high_first", (
    *(reg for i, phase in enumerate(PHASES) for reg in _rtu_phase(phase, 0x48 + 9 * i)),
    Reg("import_total_kwh", 0x63, "u32", scale=1 / 800, unit="kWh"),
    Reg("frequency", 0x65, scale=0.01, unit="Hz"),
    Reg("export_total_kwh", 0x66, "u32", scale=1 / 800, unit="kWh"),
), hex_addresses=True)

MAPS = {
    ("tcp", WEM3080): TCP_WEM3080, ("tcp", WEM3080T): TCP_WEM3080T,
    ("rtu", WEM3080): RTU_WEM3080, ("rtu", WEM3080T): RTU_WEM3080T,
}


def live_map(transport: str, model: str) -> RegisterMap:
    """The map for ``model`` on ``transport`` (RTU framing over TCP uses the RTU map)."""
    return MAPS[("tcp" if transport == "tcp" else "rtu", model)]
