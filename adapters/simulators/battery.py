"""Battery units derived from the plant: what every battery simulator reports.

The pack's power is the plant's battery power (+ = charging) split evenly across the
units; each unit's current is its share divided by its own voltage, so the sum of the
units' V·I is the plant's battery power. Cell voltages follow SOC around a nominal
LFP voltage with a small fixed spread; one cell can be made low on purpose, by
``low_cell_drop_mv`` (a simulator attribute: changing it at run time drives that cell away from
its neighbours, or back).
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field

from adapters.simulators.plant import PlantState

LOW_CELL_DROP_MV = 250


@dataclass
class SimUnit:
    """One simulated battery unit at one instant."""

    index: int
    serial_number: str
    cells_mv: list[int]
    current_a: float
    soc: float
    temperature_c: float
    capacity_ah: float
    cycles: int
    cell_temps_c: list[float] = field(default_factory=list)

    @property
    def voltage_v(self) -> float:
        return sum(self.cells_mv) / 1000

    @property
    def power_w(self) -> float:
        return self.voltage_v * self.current_a


def cell_voltages_mv(soc: float, cells: int, low_cell: int | None = None,
                     drop_mv: int = LOW_CELL_DROP_MV) -> list[int]:
    """Cell voltages (mV): 3.20-3.40 V with SOC, a ±4 mV fixed spread, one cell optionally low."""
    nominal = 3200 + 2.0 * soc
    volts = [round(nominal + ((i * 7) % 9 - 4)) for i in range(cells)]
    if low_cell is not None and 0 <= low_cell < cells:
        volts[low_cell] -= drop_mv
    return volts


def default_serial(prefix: str, index: int) -> str:
    """A stable serial number per unit, e.g. ``PPTBH0200000001``."""
    return f"{prefix}{index:08d}"


def battery_units(state: PlantState, indexes: list[int], cells: int, *, serials: dict[int, str],
                  capacity_ah: float = 100.0, low_cell: tuple[int, int] | None = None,
                  cycles: int = 123, low_cell_drop_mv: int = LOW_CELL_DROP_MV) -> list[SimUnit]:
    """The simulated units at ``state``. ``low_cell`` is (unit index, cell index) to pull low."""
    share_w = state.battery_w / max(1, len(indexes))
    units = []
    for n, index in enumerate(indexes):
        low = low_cell[1] if low_cell and low_cell[0] == index else None
        mv = cell_voltages_mv(state.soc, cells, low, low_cell_drop_mv)
        voltage = sum(mv) / 1000
        temp = 25.0 + 0.5 * n
        units.append(SimUnit(
            index=index, serial_number=serials[index], cells_mv=mv,
            current_a=share_w / voltage, soc=state.soc, temperature_c=temp,
            capacity_ah=capacity_ah, cycles=cycles + n,
            cell_temps_c=[temp + 0.1 * (i % 3) for i in range(cells)],
        ))
    return units


def run_until_signal() -> None:
    """Block until SIGINT or SIGTERM (the battery simulators' ``main`` loops)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
