"""Discovery fixtures: fast probe settings, simulators on ptys, silent/garbage/busy ports."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.simulators.modbus import IammeterSimulator, ModbusSimulator, PowdriveSimulator, SenergySimulator
from adapters.simulators.ptyport import PtyPort, open_pty
from adapters.simulators.pytes import PytesSimulator
from telemetry.polling import close_readers

PROBE_TIMEOUT_S = 0.25


@pytest.fixture(autouse=True)
def fast_discovery(settings: Any, tmp_path: Path) -> Iterator[Any]:
    """Short probe timeouts, no system ports (this machine's /dev/ttyS0 is not ours to probe)."""
    settings.SOLARMON_DISCOVERY_PROBE_TIMEOUT_S = PROBE_TIMEOUT_S
    settings.SOLARMON_DISCOVERY_SCAN_SYSTEM_PORTS = False
    settings.SOLARMON_DISCOVERY_INCLUDE_GLOBS = []
    settings.SOLARMON_DISCOVERY_BY_ID_DIR = str(tmp_path / "by-id")
    settings.SOLARMON_DISCOVERY_REQUIRE_APPROVAL = False
    settings.DATA_DIR = tmp_path / "data"
    yield settings
    close_readers()


@pytest.fixture
def alias_dir(tmp_path: Path) -> Path:
    """A folder of stable names (like udev aliases) pointing at ptys; tests re-point them."""
    folder = tmp_path / "dev"
    folder.mkdir()
    return folder


def alias(folder: Path, name: str, target: str) -> str:
    """Make (or re-point) ``folder/name`` → ``target``; returns the alias path."""
    link = folder / name
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target)
    return str(link)


class ModbusBench:
    """Modbus simulators serving RTU on ptys, stopped at the end of the test (or unplugged before)."""

    KINDS: dict[str, type[ModbusSimulator]] = {
        "powdrive": PowdriveSimulator, "senergy": SenergySimulator, "iammeter": IammeterSimulator}

    def __init__(self) -> None:
        self.running: list[ModbusSimulator] = []

    def __call__(self, kind: str, **kwargs: Any) -> tuple[ModbusSimulator, str]:
        """Start a ``kind`` simulator on a new pty; returns (simulator, pty path)."""
        sim = self.KINDS[kind](**kwargs)
        path = sim.serve_rtu()
        self.running.append(sim.start())
        return sim, path

    def unplug(self, sim: ModbusSimulator) -> None:
        """Stop ``sim`` and close its pty, as pulling the USB adapter would."""
        self.running.remove(sim)
        sim.stop()

    def stop_all(self) -> None:
        for sim in self.running:
            sim.stop()
        self.running.clear()


@pytest.fixture
def modbus_device() -> Iterator[ModbusBench]:
    """Start Modbus simulators on ptys: ``modbus_device("powdrive", serial=...)``."""
    bench = ModbusBench()
    yield bench
    bench.stop_all()


@pytest.fixture
def pytes_device() -> Iterator[Callable[..., PytesSimulator]]:
    """Start a Pytes console simulator on a pty."""
    started: list[PytesSimulator] = []

    def start(**kwargs: Any) -> PytesSimulator:
        sim = PytesSimulator(**kwargs).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def silent_port() -> Iterator[str]:
    """A pty with nothing behind it: requests vanish, nothing ever answers."""
    pty = open_pty()
    os.set_blocking(pty.master_fd, False)
    stop = threading.Event()
    thread = threading.Thread(target=_drain, args=(pty, stop), daemon=True)
    thread.start()
    yield pty.path
    stop.set()
    thread.join(timeout=2)
    pty.close()


@pytest.fixture
def garbage_port() -> Iterator[str]:
    """A pty whose far end keeps writing random bytes, as a wrong-baud or noisy line does."""
    pty = open_pty()
    os.set_blocking(pty.master_fd, False)
    stop = threading.Event()
    thread = threading.Thread(target=_spew, args=(pty, stop), daemon=True)
    thread.start()
    yield pty.path
    stop.set()
    thread.join(timeout=2)
    pty.close()


@pytest.fixture
def hold_exclusively() -> Iterator[Callable[[str], None]]:
    """Hold a port with pyserial's exclusive lock from another process, as another program would."""
    procs: list[subprocess.Popen[str]] = []
    script = ("import serial, sys, time\n"
              "s = serial.Serial(sys.argv[1], exclusive=True)\n"
              "print('held', flush=True)\n"
              "time.sleep(60)\n")

    def hold(path: str) -> None:
        proc = subprocess.Popen([sys.executable, "-c", script, path], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait(timeout=5)


def _drain(pty: PtyPort, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            os.read(pty.master_fd, 4096)
        except OSError:
            time.sleep(0.01)


def _spew(pty: PtyPort, stop: threading.Event) -> None:
    rng = random.Random(3)
    while not stop.is_set():
        try:
            os.write(pty.master_fd, bytes(rng.randrange(256) for _ in range(32)))
            os.read(pty.master_fd, 4096)
        except OSError:
            pass
        time.sleep(0.01)
