"""A real JK-PB RS485 bus sniff, and two recorded exchanges, replayed through a TCP gateway.

The sniff (``txubelaxu_20240318_103626.log``): a master pack at address 0 polls addresses
1-15 for cell info; only address 7 answers (and is asked for settings); then the master
sends its own cell-info and settings frames, each followed by an acknowledgement carrying
address 0. Nobody ever asks for device info. Expected values are the decode of the
annotated transcript (``parsed/20240318_103626_parsed.txt``) and the vectors' headers.
"""

from __future__ import annotations

import os
import threading
from contextlib import closing

import pytest

from adapters.errors import TransportError
from adapters.jkbms_tcpip.driver import JkbmsTcpDriver
from adapters.simulators.ptyport import open_pty
from adapters.tools import read_device
from tests.adapters.battery.bus_replay import BusReplay
from tests.adapters.battery.support import cell_volts
from tests.adapters.capture_files import capture_path, hex_capture

pytestmark = pytest.mark.timeout(30)


def sniff_bursts() -> list[bytes]:
    """The log's read bursts, one hex line each, as the gateway relayed them."""
    lines = capture_path("jk_pb_rs485/txubelaxu_20240318_103626.log").read_text().split()
    return [bytes.fromhex(line) for line in lines]


def passive(port: int, addresses: list[int], timeout: float = 2.0) -> JkbmsTcpDriver:
    return JkbmsTcpDriver({"host": "127.0.0.1", "port": port, "mode": "passive", "addresses": addresses,
                           "timeout": timeout})


def test_the_sniffed_bus_reads_the_slave_and_the_master() -> None:
    with BusReplay(sniff_bursts()) as bus, closing(passive(bus.port, [7, 0])) as driver:
        pack = driver.read()
    slave, master = pack.units
    # Record @55 (address 7's frame, proved by the acknowledgement 07 10 16 20 00 01 04 2d).
    assert slave.index == 7
    assert cell_volts(slave) == [3.350, 3.346] + [3.345] * 14
    assert (slave.voltage, slave.current, slave.soc, slave.capacity_ah) == (53.528, 0.0, 97, 304.0)
    extra7 = pack.extra["units"][7]
    assert (extra7["mos_temp"], extra7["temp1"], extra7["temp2"]) == (21.7, 20.6, 21.2)
    assert extra7["remaining_ah"] == 294.562
    # Record @770 (the master's own frame, proved by 00 10 16 20 00 01 05 9a).
    assert master.index == 0
    assert cell_volts(master) == [3.349] + [3.345] * 10 + [3.344] * 5
    assert (master.voltage, master.soc) == (53.519, 97)
    extra0 = pack.extra["units"][0]
    assert (extra0["mos_temp"], extra0["temp1"], extra0["temp2"]) == (23.3, 21.3, 21.8)
    assert bus.received == []  # listening only
    assert pack.flags == []


@pytest.mark.parametrize("address", [15, 3])
def test_a_polled_address_that_never_answers_gets_nothing_not_the_masters_frame(address: int) -> None:
    # 15 is polled right before the master sends its own frame; 3 right after a slave's reply.
    with BusReplay(sniff_bursts()) as bus, closing(passive(bus.port, [address], timeout=0.8)) as driver:
        with pytest.raises(TransportError, match=f"no frame for address {address}"):
            driver.read()
        assert driver.unattributed_frames == 0  # every frame on this bus is proved by its acknowledgement


def test_read_device_works_on_the_sniffed_bus_without_device_info() -> None:
    with BusReplay(sniff_bursts()) as bus:
        result = read_device("jkbms_tcpip", {"host": "127.0.0.1", "port": bus.port, "mode": "passive",
                                             "addresses": [0, 7], "timeout": 1.0})
    assert result["serial_number"] is None  # the bus never carries it
    assert result["model"] == "JK-PB BMS (16 cells, 304 Ah)"
    assert result["identity"]["identity"] == "unknown: no device-info frame passed on the bus"
    assert result["identity"]["addresses_on_bus"] == [0, 7]
    assert [u["index"] for u in result["reading"]["units"]] == [0, 7]


VECTOR_CELLS = "jk_pb_rs485/vectors/sniffer_testdata_addr01_type02_with_ack.hex"
VECTOR_SETTINGS = "jk_pb_rs485/vectors/sniffer_testdata_addr01_type01_with_ack.hex"
TRIGGER_CELLS_1 = bytes.fromhex("01 10 16 20 00 01 02 00 00 d6 f1")
TRIGGER_SETTINGS_1 = bytes.fromhex("01 10 16 1e 00 01 02 00 00 d2 2f")


def test_a_recorded_trigger_exchange_decodes_to_the_stated_values() -> None:
    with BusReplay(answers={TRIGGER_CELLS_1: hex_capture(VECTOR_CELLS)}) as bus, \
            closing(JkbmsTcpDriver({"host": "127.0.0.1", "port": bus.port, "addresses": [1],
                                    "timeout": 1.0, "request_gap_ms": 0})) as driver:
        pack = driver.read()
    unit = pack.units[0]
    extra = pack.extra["units"][1]
    # V=53.535 V, I=0.0 A, SOC=100 %, cells 3345-3346 mV (16), MOS 20.6 °C, T1/T2 19.2/19.9 °C,
    # rem 302.762/304.0 Ah, runtime 794487 s.
    assert (unit.voltage, unit.current, unit.soc) == (53.535, 0.0, 100)
    assert len(unit.cells) == 16 and set(cell_volts(unit)) == {3.345, 3.346}
    assert (extra["mos_temp"], extra["temp1"], extra["temp2"]) == (20.6, 19.2, 19.9)
    assert (extra["remaining_ah"], unit.capacity_ah, extra["runtime_s"]) == (302.762, 304.0, 794487)


def test_a_passive_bus_carrying_settings_names_what_it_can() -> None:
    bursts = [TRIGGER_CELLS_1, hex_capture(VECTOR_CELLS), TRIGGER_SETTINGS_1, hex_capture(VECTOR_SETTINGS)]
    with BusReplay(bursts) as bus, closing(passive(bus.port, [1], timeout=0.6)) as driver:
        identity = driver.identify()
    assert identity.serial_number == ""
    # cells 16, UVP 2.6 V, OVP 3.61 V, OVPR 3.448 V, SOC100 3.449 V, SOC0 2.64 V, RCV 3.45 V,
    # RFV 3.35 V, max charge 25.0 A, max discharge 200.0 A, capacity 304.0 Ah, device address 1.
    assert identity.extra["settings"] == {
        "cell_count": 16, "cell_uvp": 2.6, "cell_uvpr": 2.65, "cell_ovp": 3.61, "cell_ovpr": 3.448,
        "soc100_voltage": 3.449, "soc0_voltage": 2.64, "cell_rcv": 3.45, "cell_rfv": 3.35,
        "max_charge_current": 25.0, "max_discharge_current": 200.0, "nominal_ah": 304.0,
        "device_address": 1}


def test_the_sniffed_bus_reads_through_a_usb_rs485_adapter_too() -> None:
    pty = open_pty()
    stop = threading.Event()

    def play() -> None:  # the bus, as the adapter's serial port receives it
        bursts, turn = sniff_bursts(), 0
        while not stop.wait(0.002):
            os.write(pty.master_fd, bursts[turn % len(bursts)])
            turn += 1

    player = threading.Thread(target=play, daemon=True)
    player.start()
    try:
        result = read_device("jkbms_tcpip", {"serial_port": pty.path, "mode": "passive", "addresses": [7],
                                             "timeout": 0.5})
    finally:
        stop.set()
        player.join(timeout=2)
        pty.close()
    assert result["serial_number"] is None and result["reading"]["units"][0]["voltage"] == 53.528
