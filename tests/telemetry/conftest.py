"""A simulated installation wired like the demo: real simulators on loopback and ptys."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from catalog import models as m
from catalog.services import save_entity
from solarmon.demo import DemoRig, enable_simulated_ble
from telemetry.polling import close_readers
from tests import factories as f


def build_installation() -> dict[str, Any]:
    """Two arrays, three inverters (TCP, RTU on a pty, RTU over TCP), a Pytes pack, a JK pack with
    a gateway primary and a Bluetooth failover, and a system meter."""
    sys = f.system("system", timezone="Asia/Karachi")
    a1, a2 = f.array("array1", sys), f.array("array2", sys)
    ba1, ba2 = f.battery_array("battery_array1", sys), f.battery_array("battery_array2", sys)
    f.attach(ba1, a1)
    f.attach(ba2, a2)
    fast = {"timeout": 0.5}
    f.inverter("powdrive1", a1, adapter=f.adapter("powdrive1_adapter", "powdrive", {
        "transport": "tcp", "host": "192.0.2.10", **fast}))
    f.inverter("senergy1", a1, adapter=f.adapter("senergy1_adapter", "senergy", {
        "transport": "rtu", "serial_port": "/dev/ttyUSB9", **fast}))
    f.inverter("powdrive2", a2, adapter=f.adapter("powdrive2_adapter", "powdrive", {
        "transport": "rtu_over_tcp", "host": "192.0.2.11", **fast}))
    pytes = f.pack("battery1", ba2, nominal_kwh=9.6)
    save_entity(m.BatteryPackAdapter(pack=pytes, adapter=f.adapter("battery1_adapter", "pytes", {
        "serial_port": "/dev/ttyUSB8", "batteries": 2, "cells_per_battery": 16, "timeout": 1.0}), priority=1))
    jk = f.pack("jkbms_bank", ba1, nominal_kwh=28.0)
    save_entity(m.BatteryPackAdapter(pack=jk, adapter=f.adapter("jk_gateway", "jkbms_tcpip", {
        "host": "192.0.2.12", "addresses": [1, 2], "timeout": 0.5, "request_gap_ms": 0}), priority=1))
    save_entity(m.BatteryPackAdapter(pack=jk, adapter=f.adapter("jk_ble", "jkbms_ble", {
        "bt_addresses": ["C8:47:80:00:00:01", "C8:47:80:00:00:02"], "timeout": 1.0,
        "reconnect_backoff_s": 0.0}), priority=2))
    f.meter("grid_meter_1", sys, type="grid", adapter=f.adapter("grid_meter_1_adapter", "iammeter", {
        "transport": "tcp", "host": "192.0.2.13", **fast}))
    return {"system": sys}


@pytest.fixture
def installation(db: None) -> Iterator[DemoRig]:
    """The installation with a simulator behind every adapter; yields the rig."""
    build_installation()
    rig = _start_rig()
    yield rig
    close_readers()
    rig.stop()


@pytest.fixture
def live_installation(transactional_db: None) -> Iterator[DemoRig]:
    """Like ``installation``, committed, so another process (a Celery worker) can see it."""
    build_installation()
    rig = _start_rig()
    yield rig
    close_readers()
    rig.stop()


def _start_rig() -> DemoRig:
    origin = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    rig = DemoRig(origin)
    rig.start()
    enable_simulated_ble(origin)
    return rig


def simulator_for(rig: DemoRig, adapter_id: str) -> Any:
    """The simulator serving ``adapter_id``."""
    return rig.by_adapter[adapter_id]


def database_url() -> str:
    """The test database as a URL another process (a Celery worker) can open."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    """``celery -A solarmon worker`` in its own process, logging to a file."""

    def __init__(self, log_path: Path, env: dict[str, str], *args: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "solarmon", "worker", "--without-gossip",
             "--without-mingle", "--without-heartbeat", *args],
            env={**os.environ, "SECRET_KEY": settings.SECRET_KEY, "DATABASE_URL": database_url(), **env},
            cwd=settings.BASE_DIR, stdout=self._log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
