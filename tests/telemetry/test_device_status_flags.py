"""What real devices send, seen from the poll path.

Values a device sent that could not be proved are counted in its status and shown by the
API; a device the adapter does not support is refused and nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from adapters.simulators.plant import Plant
from adapters.simulators.pytes import PytesSimulator
from catalog import models as m
from catalog.services import save_entity
from telemetry import models as t
from telemetry.polling import close_readers, device_refs, poll_device, slot_for
from tests import factories as f
from tests.adapters.battery.console_replay import ConsoleReplay
from tests.adapters.capture_files import console_replies

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def garbled_console(db: None) -> Iterator[PytesSimulator]:
    """A two-unit Pytes pack whose console prints one garbled `bat 1` row."""
    sim = PytesSimulator(Plant(), batteries=2).start()
    sim.fault = "garbled_row"
    system = f.system()
    pack = f.pack("battery1", f.battery_array("battery_array1", system))
    adapter = f.adapter("battery1_adapter", "pytes",
                        {"serial_port": sim.path, "batteries": 2, "timeout": 1.0})
    save_entity(m.BatteryPackAdapter(pack=pack, adapter=adapter, priority=1))
    yield sim
    close_readers()
    sim.stop()


def test_flagged_values_are_counted_per_poll_and_the_rest_is_stored(garbled_console: PytesSimulator) -> None:
    (ref,) = device_refs()
    for offset in (0, 10):
        outcome = poll_device(ref, slot_for(timezone.now(), 10) + timedelta(seconds=offset))
        assert outcome.ok, outcome.error
    status = t.DeviceStatus.objects.get(device_id="battery1")
    assert status.flagged_values == 4  # two unsure fields in each of two polls
    assert status.last_flag.startswith("`bat 1` cell 2: column ")
    cell = t.BatteryCellSample.objects.filter(pack_id="battery1", power=1, cell=2).first()
    assert cell is not None and cell.voltage is not None and cell.soc is None  # the cell's sure values stay


def test_device_status_api_shows_the_count_and_the_last_flag(garbled_console: PytesSimulator) -> None:
    (ref,) = device_refs()
    poll_device(ref)
    client = APIClient()
    token = AuthToken.objects.create(user=User.objects.create_user("reader"))[1]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    (row,) = client.get("/api/device-status/").json()["results"]
    assert row["flagged_values"] == 2
    assert row["last_flag"].startswith("`bat 1` cell 2: column ")


def test_a_refused_device_stores_nothing_and_its_status_names_the_cause(db: None) -> None:
    replay = ConsoleReplay(console_replies("pylontech_console/H2"), b"pylon>")
    try:
        pack = f.pack("battery1", f.battery_array("battery_array1", f.system()))
        adapter = f.adapter("battery1_adapter", "pytes", {"serial_port": replay.path, "timeout": 1.0})
        save_entity(m.BatteryPackAdapter(pack=pack, adapter=adapter, priority=1))
        (ref,) = device_refs()
        outcome = poll_device(ref)
    finally:
        close_readers()
        replay.close()
    assert not outcome.ok and "Force_H2" in outcome.error and "high-voltage" in outcome.error
    assert not t.BatteryBankSample.objects.exists() and not t.BatteryCellSample.objects.exists()
    status = t.DeviceStatus.objects.get(device_id="battery1")
    assert "is a high-voltage battery system" in status.last_error and status.flagged_values == 0
