"""Alert test fixtures: small installations behind real simulators, rules tuned for short tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.models import AlertRule
from catalog import models as m
from catalog.services import save_entity
from solarmon.demo import DemoRig
from telemetry.polling import DeviceRef, close_readers, device_refs
from tests import factories as f


def rule(key: str, **changes: Any) -> AlertRule:
    """A default rule, changed (delays shortened for a test) and saved."""
    found = AlertRule.objects.get(key=key)
    for name, value in changes.items():
        setattr(found, name, value)
    found.save()
    return found


def ref_of(device_id: str) -> DeviceRef:
    return next(r for r in device_refs() if r.device_id == device_id)


def _rig() -> Iterator[DemoRig]:
    rig = DemoRig((datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0))
    rig.start()
    yield rig
    close_readers()
    rig.stop()


@pytest.fixture
def inverter_site(transactional_db: None) -> Iterator[DemoRig]:
    """One Modbus TCP inverter polled every second, with its simulator."""
    sys = f.system("system")
    f.inverter("powdrive1", f.array("array1", sys), adapter=f.adapter(
        "powdrive1_adapter", "powdrive", {"transport": "tcp", "host": "192.0.2.10", "timeout": 0.3},
        poll_interval_s=1))
    yield from _rig()


@pytest.fixture
def pack_site(transactional_db: None) -> Iterator[DemoRig]:
    """One JK pack (one unit of 16 cells) behind its RS485 gateway simulator."""
    sys = f.system("system")
    pack = f.pack("pack1", f.battery_array("battery_array1", sys))
    save_entity(m.BatteryPackAdapter(pack=pack, adapter=f.adapter("jk_gateway", "jkbms_tcpip", {
        "host": "192.0.2.12", "addresses": [1], "timeout": 0.5, "request_gap_ms": 0}, poll_interval_s=1),
        priority=1))
    yield from _rig()
