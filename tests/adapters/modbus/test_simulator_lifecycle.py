"""Simulators run for hours in the demo: no leaked threads or descriptors, a clean CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from adapters.errors import TransportError
from adapters.powdrive.driver import PowdriveDriver
from adapters.registry import config_with_defaults
from adapters.simulators.modbus import PowdriveSimulator

from .conftest import config_for, frozen_plant

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[3]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_many_reconnects_and_restarts_leak_no_threads_or_descriptors(discharging_ts: datetime) -> None:
    threads, fds = threading.active_count(), _open_fds()
    for _ in range(3):
        with PowdriveSimulator(frozen_plant(discharging_ts)) as sim:
            configs = [config_for(sim, t, timeout=0.2) for t in ("tcp", "rtu", "rtu_over_tcp")]
            for config in configs:
                driver = PowdriveDriver(config_with_defaults("powdrive", config))
                for _ in range(3):  # a drop on a pty is a missing reply: a timeout
                    sim.inject(drop=True, remaining=1)
                    with pytest.raises(TransportError):
                        driver.read()
                    assert driver.read().soc is not None  # reconnects by itself
                driver.close()
    assert threading.active_count() == threads
    assert _open_fds() == fds


def test_simulate_command_serves_until_sigterm(discharging_ts: datetime) -> None:
    code = ("from adapters.simulators.cli import run_simulator; "
            "raise SystemExit(run_simulator('powdrive', ['--tcp', '0', '--rtu', '--serial', 'CLI0000001',"
            " '--profile', 'three-phase-hv']))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        port = int(re.search(r"127\.0\.0\.1:(\d+)", lines[0]).group(1))  # type: ignore[union-attr]
        pty_path = lines[1].rsplit(" ", 1)[1].strip()
        for config in ({"transport": "tcp", "host": "127.0.0.1", "port": port},
                       {"transport": "rtu", "serial_port": pty_path}):
            with PowdriveDriver(config_with_defaults("powdrive", {**config, "timeout": 1.0})) as driver:
                assert driver.identify().serial_number == "CLI0000001"
                assert driver.read().extra["profile"] == "three-phase-hv"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
