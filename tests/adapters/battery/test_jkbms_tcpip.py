"""The JK-PB gateway driver against the gateway simulator over real TCP sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing

import pytest

from adapters.errors import ConfigError, DeviceError, TransportError
from adapters.jkbms_tcpip.bus import BusParser
from adapters.jkbms_tcpip.driver import JkbmsTcpDriver
from adapters.simulators.battery import LOW_CELL_DROP_MV
from tests.adapters.battery.jk_frame_builder import cell_info_frame
from tests.adapters.battery.support import cell_volts, known

pytestmark = pytest.mark.timeout(30)


def driver_for(port: int, **config: object) -> JkbmsTcpDriver:
    return JkbmsTcpDriver({"host": "127.0.0.1", "port": port, "timeout": 0.5, "request_gap_ms": 10,
                           **config})


@pytest.mark.parametrize("mode", ["trigger", "registers"])
def test_reading_matches_the_plant(jk_gateway, plant, mode) -> None:
    sim = jk_gateway(addresses=[1, 2], cells_per_battery=16, serials={1: "4060A450001", 2: "4060A450002"})
    truth = plant.state()
    with closing(driver_for(sim.port, mode=mode, addresses=[1, 2])) as driver:
        identity = driver.identify()
        pack = driver.read()

    assert (identity.serial_number, identity.model) == ("4060A450001", "JK_PB2A16S20P")
    assert [u.index for u in pack.units] == [1, 2]
    assert pack.power == pytest.approx(truth.battery_w, abs=1.0)
    assert known(pack.current) > 0  # charging
    assert pack.soc == pytest.approx(truth.soc, abs=0.5)
    assert pack.cells_per_battery == 16 and pack.batteries_count == 2
    for unit in pack.units:
        assert unit.current == pytest.approx(truth.battery_w / 2 / unit.voltage, abs=0.002)
        assert unit.capacity_ah == pytest.approx(280.0)
        assert unit.temperature == pytest.approx(25.0 + 0.5 * (unit.index - 1), abs=0.05)
    assert pack.cycles == 124  # the simulator's second unit has one cycle more
    assert pack.units[0].serial_number == "4060A450001"


def test_discharging_pack_reports_negative_current(jk_gateway, discharging_plant) -> None:
    sim = jk_gateway(plant=discharging_plant, addresses=[1])
    with closing(driver_for(sim.port)) as driver:
        pack = driver.read()
    assert known(pack.current) < 0
    assert pack.power == pytest.approx(discharging_plant.state().battery_w, abs=1.0)


def test_requests_keep_the_configured_gap(jk_gateway) -> None:
    sim = jk_gateway(addresses=[1, 2, 3])
    with closing(driver_for(sim.port, addresses=[1, 2, 3], request_gap_ms=150)) as driver:
        started = time.monotonic()
        driver.read()
        elapsed = time.monotonic() - started
    assert [r[1] for r in sim.requests] == [1, 2, 3]
    assert elapsed >= 0.3  # two gaps between three requests


def test_passive_mode_reads_the_slaves_and_the_master_at_address_0(jk_gateway, plant) -> None:
    sim = jk_gateway(addresses=[1, 2], low_cell=(2, 3), master_interval_s=0.1, master_device_info=True)
    with closing(driver_for(sim.port, mode="passive", addresses=[1, 2, 0], timeout=2.0)) as driver:
        identity = driver.identify()
        pack = driver.read()
    assert identity.serial_number == sim.serials[1]
    assert [u.index for u in pack.units] == [1, 2, 0]
    unit1, unit2, master = pack.units
    assert unit2.cells[3].voltage == pytest.approx(cell_volts(unit2)[2] - LOW_CELL_DROP_MV / 1000,
                                                   abs=0.01)
    assert min(cell_volts(unit1)) > 3.2 and min(cell_volts(master)) > 3.2
    assert pack.power == pytest.approx(plant.state().battery_w, abs=1.0)  # master + slaves: the whole pack
    assert sim.requests == []  # a passive listener never talks on the bus


def test_passive_bus_without_device_info_still_reads_and_reports_the_identity_unknown(jk_gateway) -> None:
    sim = jk_gateway(addresses=[2], master_interval_s=0.1)  # a real master never asks for device info
    with closing(driver_for(sim.port, mode="passive", addresses=[0, 2], timeout=1.0)) as driver:
        identity = driver.identify()
        pack = driver.read()
    assert identity.serial_number == ""
    assert identity.model == "JK-PB BMS (16 cells, 280 Ah)"
    assert identity.extra["addresses_on_bus"] == [0, 2]
    assert [u.index for u in pack.units] == [0, 2] and pack.units[1].serial_number is None


def test_passive_mode_never_gives_an_address_that_does_not_answer_the_masters_frame(jk_gateway) -> None:
    # The master polls 1..15 and sends its own frame right after polling 15, which never answers.
    sim = jk_gateway(addresses=[1], master_interval_s=0.05)
    with closing(driver_for(sim.port, mode="passive", addresses=[15], timeout=0.6)) as driver:
        with pytest.raises(TransportError, match="no frame for address 15"):
            driver.read()


def test_trigger_mode_ignores_the_masters_frame_passing_before_the_reply(jk_gateway) -> None:
    sim = jk_gateway(addresses=[1], low_cell=(0, 3))  # only the master (address 0) has a low cell
    sim.fault = "master_frame"
    with closing(driver_for(sim.port, addresses=[1])) as driver:
        pack = driver.read()
    assert min(cell_volts(pack.units[0])) > 3.2


def test_address_0_cannot_be_polled_actively() -> None:
    with pytest.raises(ConfigError, match="address 0 is the bus master"):
        driver_for(1, mode="trigger", addresses=[0, 1])


def test_absent_temperature_sensors_are_unknown_not_minus_200(jk_gateway) -> None:
    sim = jk_gateway(addresses=[1], absent_sensors=("temp2", "temp4", "temp5"))
    with closing(driver_for(sim.port)) as driver:
        pack = driver.read()
    unit = pack.units[0]
    extra = pack.extra["units"][1]
    assert unit.temperature == pytest.approx(24.5)  # temp1 alone (the simulator's unit is at 25 °C)
    assert extra["absent_temp_sensors"] == ["temp2", "temp4", "temp5"]
    assert "temp2" not in extra and "temp4" not in extra and extra["temp3"] == pytest.approx(25.0)
    assert pack.flags == []  # a sensor that is not fitted is no fault


@pytest.fixture
def unsolicited_frames() -> Iterator[int]:
    """A gateway that only ever carries frames with no request before them."""
    server = socket.create_server(("127.0.0.1", 0))
    frame = cell_info_frame("32s", [3300] * 16, current_ma=1000, soc=50, temp1_dc=250, temp2_dc=250,
                            cycles=1)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            with client:
                while not stop.is_set():
                    try:
                        client.sendall(frame)
                    except OSError:
                        break
                    time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    server.close()


def test_passive_mode_drops_frames_nobody_asked_for(unsolicited_frames) -> None:
    with closing(driver_for(unsolicited_frames, mode="passive", timeout=0.4)) as driver:
        with pytest.raises(TransportError, match="no frame for address 1"):
            driver.read()
        assert driver.unattributed_frames >= 3


FAULTS = ["bad_checksum", "truncated", "garbage", "silence", "disconnect"]


@pytest.mark.parametrize(("mode", "fault"), [("trigger", f) for f in [*FAULTS, "bad_ack"]]
                         + [("registers", f) for f in FAULTS])
def test_faults_raise_and_never_give_a_reading(jk_gateway, mode, fault) -> None:
    sim = jk_gateway(addresses=[1])
    with closing(driver_for(sim.port, mode=mode, timeout=0.3)) as driver:
        driver.read()
        sim.fault = fault
        with pytest.raises(TransportError):
            driver.read()
        if fault == "bad_checksum" and mode == "trigger":
            assert driver.corrupt_frames == 1
        sim.fault = None
        assert driver.read().batteries_count == 1  # reconnects and recovers


def test_absent_address_is_named_in_the_error(jk_gateway) -> None:
    sim = jk_gateway(addresses=[1, 2], absent=[2])
    with closing(driver_for(sim.port, addresses=[1, 2], timeout=0.3)) as driver:
        with pytest.raises(TransportError, match="address 2"):
            driver.read()


def test_register_read_outside_the_map_is_a_device_error(jk_gateway) -> None:
    sim = jk_gateway(addresses=[1])
    with closing(driver_for(sim.port, mode="registers")) as driver:
        with pytest.raises(DeviceError, match="exception"):
            driver._read_registers(1, 0x2000, 4)


def test_gateway_not_listening_is_a_transport_error() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with closing(driver_for(port)) as driver, pytest.raises(TransportError, match="cannot connect"):
        driver.read()


def test_bus_parser_rejects_corrupt_frames_and_stays_bounded() -> None:
    good = cell_info_frame("32s", [3300] * 16, current_ma=1, soc=50, temp1_dc=250, temp2_dc=250, cycles=1)
    bad = bytearray(good)
    bad[200] ^= 0xFF
    parser = BusParser(max_buffer=2048)
    tokens = parser.feed(bytes(bad) + good[:150] + good)
    assert [t.data for t in tokens if t.kind == "frame"] == [good]
    assert parser.corrupt_frames == 2
    for _ in range(100):
        parser.feed(bytes(range(7, 250)) * 4)
    assert parser.buffered <= 2048
