"""API test fixtures: users of each role with their clients, and a catalog to talk about."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from knox.models import AuthToken
from rest_framework.test import APIClient

from catalog import models as m
from catalog.services import save_entity
from tests import factories as f


def _token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


@pytest.fixture
def staff_user(db: None) -> User:
    return User.objects.create_user("staff", is_staff=True)  # no password: hashing is slow


@pytest.fixture
def reader_user(db: None) -> User:
    return User.objects.create_user("reader")


@pytest.fixture
def staff_api(staff_user: User) -> APIClient:
    """A staff user's script: token authentication."""
    return _token_client(staff_user)


@pytest.fixture
def reader_api(reader_user: User) -> APIClient:
    """A logged-in user without staff rights, by token."""
    return _token_client(reader_user)


@pytest.fixture
def anon_api(db: None) -> APIClient:
    return APIClient()


def _build_catalog() -> dict[str, Any]:
    """Two arrays of inverters, two battery arrays of packs, a grid meter, and three adapters.

    Shaped like ``factories.small_hierarchy`` with fewer cells.
    """
    sys = f.system("system", name="My Solar System")
    a1, a2 = f.array("array1", sys), f.array("array2", sys)
    inverters = [f.inverter("powdrive2", a1), f.inverter("senergy1", a1), f.inverter("powdrive1", a2)]
    ba1, ba2 = f.battery_array("battery_array1", sys), f.battery_array("battery_array2", sys)
    packs = [f.pack("jkbms_bank_ble", ba1, batteries=2, cells=2),
             f.pack("battery1", ba2, batteries=4, cells=3)]
    f.attach(ba1, a1)
    f.attach(ba2, a2)
    tree: dict[str, Any] = {"system": sys, "arrays": [a1, a2], "inverters": inverters,
                            "battery_arrays": [ba1, ba2], "packs": packs,
                            "meter": f.meter("grid_meter_1", sys, type="grid")}
    inv_adapter = f.adapter("powdrive1_adapter", "powdrive", {"transport": "tcp", "host": "127.0.0.1"})
    pack_adapter = f.adapter("battery1_pytes", "pytes", {"serial_port": "/dev/ttyUSB0"})
    meter_adapter = f.adapter("grid_meter_adapter", "iammeter", {"transport": "tcp", "host": "127.0.0.1"})
    inverter = m.Inverter.objects.get(pk="powdrive1")
    inverter.adapter = inv_adapter
    save_entity(inverter)
    grid = tree["meter"]
    grid.adapter = meter_adapter
    save_entity(grid)
    link = save_entity(m.BatteryPackAdapter(pack=packs[1], adapter=pack_adapter, priority=1))
    tree.update(inverter_adapter=inv_adapter, pack_adapter=pack_adapter, meter_adapter=meter_adapter,
                link=link)
    return tree


@pytest.fixture(scope="module")
def _catalog_rows(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The catalog, written once per test module (each test's changes are rolled back after it)."""
    with django_db_blocker.unblock():
        tree = _build_catalog()
    yield tree
    with django_db_blocker.unblock():
        m.System.objects.all().delete()
        m.Adapter.objects.all().delete()


@pytest.fixture
def catalog(db: None, _catalog_rows: dict[str, Any]) -> dict[str, Any]:
    """The shared catalog (see ``_build_catalog``), for a test that runs in a transaction."""
    return _catalog_rows
