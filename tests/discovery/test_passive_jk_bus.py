"""Discovery on a port wired to a JK-PB RS485 bus: it listens, recognises the bus, writes nothing.

The bus is the real sniff (``tests/adapters/captures/jk_pb_rs485``) played into a pty: a master at
address 0 polling 1-15, address 7 answering, and no device-info frame ever.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from adapters.simulators.ptyport import PtyPort, open_pty
from discovery.models import DeviceDiscovery, PortProbe
from discovery.phases import run_discovery
from discovery.report import Action
from tests.adapters.capture_files import capture_path

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@pytest.fixture
def jk_bus(settings) -> Iterator[PtyPort]:
    """A pty carrying the sniffed bus, again and again; what the prober writes is collected."""
    # many of the replayed master's polling cycles, even on a busy machine
    settings.SOLARMON_DISCOVERY_PROBE_TIMEOUT_S = 1.0
    bursts = [bytes.fromhex(line) for line in
              capture_path("jk_pb_rs485/txubelaxu_20240318_103626.log").read_text().split()]
    pty = open_pty()
    stop = threading.Event()

    def play() -> None:
        turn = 0
        while not stop.wait(0.002):
            try:
                os.write(pty.master_fd, bursts[turn % len(bursts)])
            except OSError:
                return
            turn += 1

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    yield pty
    stop.set()
    thread.join(timeout=2)
    pty.close()


def test_a_passive_jk_pb_bus_is_recognised_and_left_for_the_user(jk_bus: PtyPort) -> None:
    report = run_discovery(port_globs=[jk_bus.path])
    (line,) = report.lines
    assert line.action == Action.UNRECOGNIZED
    assert line.detail == ("JK-PB BMS (16 cells, 304 Ah) answers (addresses 0, 7), but nothing it sends "
                           "names it (no serial number): configure it by hand")
    assert not DeviceDiscovery.objects.exists()  # nothing named it, so nothing is created
    probe = PortProbe.objects.get(port=jk_bus.path)
    assert "jkbms_tcpip (115200 baud): unrecognized - JK-PB BMS" in probe.detail
