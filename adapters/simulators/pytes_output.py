"""How a Pytes or Pylontech console prints ``pwr``, ``bat N`` and ``info N`` (simulator side).

Column sets and widths follow the real consoles (protocols.md §3a); values are console
units: mV, mA (+ = charging), m°C, integer %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapters.simulators.battery import SimUnit


@dataclass(frozen=True)
class Variant:
    """One console dialect."""

    name: str
    prompt: str
    eol: str
    manufacturer: str
    model: str
    pwr_columns: tuple[tuple[str, int], ...]
    bat_columns: tuple[tuple[str, int], ...]


_PWR_COMMON = (("Power", 6), ("Volt", 7), ("Curr", 7), ("Tempr", 7), ("Tlow", 7), ("Thigh", 7),
               ("Vlow", 7), ("Vhigh", 7), ("Base.St", 9), ("Volt.St", 9), ("Curr.St", 9),
               ("Temp.St", 9), ("Coulomb", 9), ("Time", 21), ("B.V.St", 9), ("B.T.St", 9))

VARIANTS = {
    "pytes": Variant(
        name="pytes", prompt="PYTES>", eol="\r\r\n", manufacturer="PYTES", model="E-BOX-48100V-D",
        pwr_columns=(*_PWR_COMMON, ("Barcode", 21), ("DevType", 20)),
        bat_columns=(("Battery", 9), ("Volt", 9), ("Tempr", 9), ("Base State", 13),
                     ("Volt. State", 13), ("Curr. State", 13), ("Temp. State", 13), ("Coulomb", 12)),
    ),
    "pylontech": Variant(
        name="pylontech", prompt="pylon>", eol="\r\n", manufacturer="Pylon", model="US5000",
        pwr_columns=(*_PWR_COMMON, ("MosTempr", 9), ("M.T.St", 8)),
        bat_columns=(("Battery", 9), ("Volt", 9), ("Curr", 9), ("Tempr", 9), ("Base State", 13),
                     ("Volt. State", 13), ("Curr. State", 13), ("Temp. State", 13), ("SOC", 13),
                     ("Coulomb", 13), ("BAL", 12)),
    ),
}


def _line(columns: tuple[tuple[str, int], ...], values: dict[str, str]) -> str:
    return "".join(values.get(name, "-").ljust(width) for name, width in columns)


def _state(current_a: float) -> str:
    return "Charge" if current_a > 0.05 else "Dischg" if current_a < -0.05 else "Idle"


def render_pwr(variant: Variant, units: dict[int, SimUnit], ts: datetime, rows: int) -> list[str]:
    """The ``pwr`` table: one row per unit 1..rows, ``Absent`` where no unit answers."""
    header = {name: name for name, _ in variant.pwr_columns}
    lines = [_line(variant.pwr_columns, header)]
    for index in range(1, rows + 1):
        unit = units.get(index)
        if unit is None:
            lines.append(_line(variant.pwr_columns, {"Power": str(index), "Base.St": "Absent"}))
            continue
        temps = [round(t * 1000) for t in unit.cell_temps_c]
        lines.append(_line(variant.pwr_columns, {
            "Power": str(index), "Volt": str(sum(unit.cells_mv)),
            "Curr": str(round(unit.current_a * 1000)), "Tempr": str(round(unit.temperature_c * 1000)),
            "Tlow": str(min(temps)), "Thigh": str(max(temps)),
            "Vlow": str(min(unit.cells_mv)), "Vhigh": str(max(unit.cells_mv)),
            "Base.St": _state(unit.current_a), "Volt.St": "Normal", "Curr.St": "Normal",
            "Temp.St": "Normal", "Coulomb": f"{round(unit.soc)}%",
            "Time": ts.strftime("%Y-%m-%d %H:%M:%S"), "B.V.St": "Normal", "B.T.St": "Normal",
            "MosTempr": str(round(unit.temperature_c * 1000) + 1500), "M.T.St": "Normal",
            "Barcode": unit.serial_number, "DevType": variant.model,
        }))
    return lines


def render_bat(variant: Variant, unit: SimUnit, garbled_cells: tuple[int, ...] = ()) -> list[str]:
    """The ``bat N`` table: one row per cell, numbered from 0.

    Rows of ``garbled_cells`` come out as a real console once printed one: the status under
    "Temp. State" is missing, so the SOC slides under that header and the status lands where
    the SOC belongs.
    """
    header = {name: name for name, _ in variant.bat_columns}
    lines = [_line(variant.bat_columns, header)]
    remaining_mah = round(unit.capacity_ah * 10 * unit.soc)
    for i, mv in enumerate(unit.cells_mv):
        soc = f"{round(unit.soc)}%"
        values = {
            "Battery": str(i), "Volt": str(mv), "Curr": str(round(unit.current_a * 1000)),
            "Tempr": str(round(unit.cell_temps_c[i] * 1000)), "Base State": _state(unit.current_a),
            "Volt. State": "Normal", "Curr. State": "Normal", "Temp. State": "Normal", "SOC": soc,
            # Pytes folds the SOC into its Coulomb column.
            "Coulomb": (f"{soc.ljust(9)}{remaining_mah} mAH" if variant.name == "pytes"
                        else f"{remaining_mah} mAH"),
            "BAL": "N",
        }
        if i in garbled_cells:
            values["Temp. State"] = "    " + soc
            if variant.name == "pytes":
                values["Coulomb"] = f"Normal   {remaining_mah} mAH"
            else:
                values["SOC"] = "Normal"
        lines.append(_line(variant.bat_columns, values))
    return lines


def render_info(variant: Variant, serial: str, cells: int, capacity_ah: float, index: int) -> list[str]:
    """The ``info N`` key/value block."""
    pairs = (("Device address", str(index)), ("Manufacturer", variant.manufacturer),
             ("Device name", variant.model), ("Board version", "SIMBOARD01"),
             ("Main Soft version", "SIMBMS16V1.10.7"), ("Soft  version", "V1.10"),
             ("Boot  version", "V1.13"), ("Comm version", "V2.0"), ("Release Date", "24-01-15"),
             ("Barcode", serial), ("Specification", f"51.2V/{capacity_ah:g}AH"),
             ("Cell Number", str(cells)), ("Max Dischg Curr", "-100000mA"),
             ("Max Charge Curr", "100000mA"), ("Console Port rate", "115200"))
    return [f"{key.ljust(20)}: {value}" for key, value in pairs]
