"""``simulate TYPE ...`` entry points: each battery simulator starts, announces itself, stops on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest

from adapters.jkbms_tcpip.driver import JkbmsTcpDriver
from adapters.pytes.driver import PytesDriver

pytestmark = pytest.mark.timeout(60)


@contextmanager
def simulator(adapter_type: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    code = "import sys; from adapters.simulators.cli import run_simulator; " \
           "sys.exit(run_simulator(sys.argv[1], sys.argv[2:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, adapter_type, *args], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_simulate_pytes_prints_a_port_the_driver_can_read() -> None:
    with simulator("pytes", "--variant", "pylontech", "--batteries", "3", "--cells", "15") as (proc, line):
        path = line.rsplit(" ", 1)[-1].strip()
        with closing(PytesDriver({"serial_port": path, "timeout": 2.0})) as driver:
            pack = driver.read()
    assert pack.batteries_count == 3 and pack.cells_per_battery == 15
    assert proc.returncode == 0


def test_simulate_jkbms_tcpip_listens_on_the_announced_port() -> None:
    with simulator("jkbms_tcpip", "--tcp", "0", "--addresses", "1,2") as (proc, line):
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
        with closing(JkbmsTcpDriver({"host": "127.0.0.1", "port": port, "addresses": [1, 2],
                                     "timeout": 2.0, "request_gap_ms": 10})) as driver:
            pack = driver.read()
    assert pack.batteries_count == 2
    assert proc.returncode == 0


def test_simulate_jkbms_ble_runs_its_in_process_demo() -> None:
    with simulator("jkbms_ble", "--interval", "0.2") as (proc, line):
        assert "in-process" in line
        assert proc.stdout is not None
        assert '"batteries": 2' in proc.stdout.readline()
    assert proc.returncode == 0
