"""Helpers shared by the battery adapter tests (plain functions and classes, no fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.readings import BatteryUnitReading
from adapters.simulators.plant import Plant

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2024, 6, 1, 3, 0, tzinfo=UTC)  # 08:00 in Karachi
CHARGING_AT = T0 + timedelta(hours=1)  # mid-morning: PV charges the battery (~2.3 kW)
DISCHARGING_AT = T0 + timedelta(hours=14)  # evening: the battery feeds the load (~-1.1 kW)
PAGER = b"Press [Enter] to be continued,other key to exit"


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def frozen_plant(at: datetime) -> Plant:
    """A plant whose clock stands still at ``at``: every simulator reads the same instant."""
    return Plant(start=T0, clock=lambda: at)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def known(value: float | None) -> float:
    """``value``, which the test requires to be present."""
    assert value is not None
    return value


def cell_volts(unit: BatteryUnitReading) -> list[float]:
    """The cell voltages of ``unit``, every one required to be present."""
    return [known(c.voltage) for c in unit.cells]
