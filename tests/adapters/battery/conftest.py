"""Fixtures for the battery adapters: a frozen plant, console replays on ptys, simulators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.simulators import jkbms_ble
from adapters.simulators.jkbms import JkGatewaySimulator
from adapters.simulators.plant import Plant
from adapters.simulators.pytes import PytesSimulator
from tests.adapters.battery.console_replay import ConsoleReplay
from tests.adapters.battery.support import (
    CHARGING_AT,
    DISCHARGING_AT,
    FakeMonotonic,
    frozen_plant,
)


@pytest.fixture
def plant() -> Plant:
    return frozen_plant(CHARGING_AT)


@pytest.fixture
def discharging_plant() -> Plant:
    return frozen_plant(DISCHARGING_AT)


@pytest.fixture
def fake_clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def console_replay() -> Iterator[Callable[..., ConsoleReplay]]:
    started: list[ConsoleReplay] = []

    def start(replies: dict[str, bytes], prompt: bytes = b"PYTES>") -> ConsoleReplay:
        replay = ConsoleReplay(replies, prompt)
        started.append(replay)
        return replay

    yield start
    for replay in started:
        replay.close()


@pytest.fixture
def pytes_sim(plant: Plant) -> Iterator[Callable[..., PytesSimulator]]:
    started: list[PytesSimulator] = []

    def start(**kwargs: Any) -> PytesSimulator:
        kwargs.setdefault("plant", plant)
        sim = PytesSimulator(**kwargs).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def jk_gateway(plant: Plant) -> Iterator[Callable[..., JkGatewaySimulator]]:
    started: list[JkGatewaySimulator] = []

    def start(**kwargs: Any) -> JkGatewaySimulator:
        kwargs.setdefault("plant", plant)
        sim = JkGatewaySimulator(**kwargs).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def ble_devices() -> Iterator[dict[str, jkbms_ble.FakeJkBms]]:
    """The registry FakeBleakClient reaches, emptied after the test."""
    jkbms_ble.DEVICES.clear()
    yield jkbms_ble.DEVICES
    jkbms_ble.DEVICES.clear()
