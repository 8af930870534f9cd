"""Fixtures for the Modbus driver tests: frozen plants, running simulators, driver configs.

The plant's clock is frozen, so the values a driver reads can be compared exactly (to
register resolution) with the plant's own numbers at that instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.simulators.modbus import ModbusSimulator
from adapters.simulators.plant import Plant, PlantParams, PlantState

DAY0 = datetime(2024, 6, 1, 0, 0, tzinfo=UTC)
SITE_TZ = ZoneInfo("Asia/Karachi")  # the plant's default site (UTC+5)
TRANSPORTS = ("tcp", "rtu", "rtu_over_tcp")
# A small battery inverter, so evenings both discharge the battery and import from the grid.
PARAMS = PlantParams(max_discharge_w=1000.0)


def frozen_plant(ts: datetime) -> Plant:
    """A plant starting at DAY0 whose clock stands still at ``ts``."""
    return Plant(PARAMS, start=DAY0, clock=lambda: ts)


def first_time(predicate: Callable[[PlantState], bool]) -> datetime:
    """The first half-minute of the simulated day whose state satisfies ``predicate``."""
    scout = Plant(PARAMS, start=DAY0, clock=lambda: DAY0)
    for minute in range(0, 36 * 60):
        ts = DAY0 + timedelta(minutes=minute, seconds=30)
        if predicate(scout.state(ts)):
            return ts
    raise AssertionError("the simulated day never reaches that state")


def today_kwh(plant: Plant, ts: datetime) -> dict[str, float]:
    """Energy since local midnight of ``ts``, from the plant's exact counters."""
    local_midnight = ts.astimezone(SITE_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return plant.energy_between(max(local_midnight.astimezone(UTC), DAY0), ts)


@pytest.fixture(scope="session")
def discharging_ts() -> datetime:
    """An evening instant: the battery discharges and the house still imports."""
    return first_time(lambda s: s.battery_w < -500 and s.grid_w > 50 and s.import_kwh > 0.5
                      and s.discharge_kwh > 0.5)


@pytest.fixture(scope="session")
def charging_ts() -> datetime:
    """A sunny instant: the battery charges and the surplus is exported."""
    return first_time(lambda s: s.battery_w > 500 and s.grid_w < -200 and 5 < s.soc < 95)


def config_for(sim: ModbusSimulator, transport: str, **extra: Any) -> dict[str, Any]:
    """Open an endpoint of ``transport`` on ``sim`` and return a driver config for it."""
    config: dict[str, Any] = {"transport": transport, "timeout": 0.5, "unit_id": 1, **extra}
    if transport == "tcp":
        config |= {"host": "127.0.0.1", "port": sim.serve_tcp()}
    elif transport == "rtu_over_tcp":
        config |= {"host": "127.0.0.1", "port": sim.serve_rtu_over_tcp()}
    else:
        config |= {"serial_port": sim.serve_rtu()}
    return config


@pytest.fixture
def running() -> Iterator[Callable[[ModbusSimulator], ModbusSimulator]]:
    """Start simulators for a test and stop every one of them afterwards."""
    started: list[ModbusSimulator] = []

    def start(sim: ModbusSimulator) -> ModbusSimulator:
        started.append(sim.start())
        return sim

    yield start
    for sim in started:
        sim.stop()
