"""Fixtures for the configuration UI tests: a staff client, a real Powdrive on Modbus TCP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from adapters.simulators.modbus import PowdriveSimulator
from adapters.simulators.plant import Plant, PlantParams

SIM_SERIAL = "PD12345678"


@pytest.fixture
def staff_client(client: Client, db: None) -> Client:
    client.force_login(User.objects.create_user("installer", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def powdrive_sim() -> Iterator[tuple[Any, int]]:
    """A simulated three-phase Powdrive answering Modbus TCP on a free loopback port."""
    sim = PowdriveSimulator(Plant(PlantParams(seed=3), start=datetime.now(UTC)), serial=SIM_SERIAL).start()
    port = sim.serve_tcp(0)
    yield sim, port
    sim.stop()
