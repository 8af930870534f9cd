"""Alert test fixtures: small installations behind real simulators, rules tuned for short tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class Hook(ThreadingHTTPServer):
    """A local HTTP endpoint that records the JSON bodies posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _HookHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _HookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[Hook]:
    server = Hook()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery tasks run in the test's process as they are queued (no worker)."""
    from solarmon.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
