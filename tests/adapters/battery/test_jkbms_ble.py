"""The JK BLE driver against simulated BMSes behind FakeBleakClient (no radio here)."""

from __future__ import annotations

import threading
from contextlib import closing

import pytest

from adapters.errors import ImplausibleReading, TransportError
from adapters.jkbms_ble.driver import JkbmsBleDriver
from adapters.simulators.jkbms_ble import FakeBleakClient, fake_pack
from tests.adapters.battery.support import known

pytestmark = pytest.mark.timeout(30)

ADDRS = ["C8:47:80:00:00:01", "C8:47:80:00:00:02"]


def driver_for(addresses: list[str], clock=None, **config: object) -> JkbmsBleDriver:
    kwargs = {"clock": clock} if clock else {}
    return JkbmsBleDriver({"bt_addresses": addresses, "timeout": 0.3, "reconnect_backoff_s": 2.0,
                           "layout": "auto", **config}, client_factory=FakeBleakClient, **kwargs)


@pytest.mark.parametrize(("layout", "frame_len"), [("24s", 300), ("32s", 300), ("32s", 320)])
def test_pack_of_two_bmses_matches_the_plant(ble_devices, plant, layout, frame_len) -> None:
    devices = fake_pack(plant, ADDRS, layout=layout, cells=16, frame_len=frame_len)
    truth = plant.state()
    with closing(driver_for(ADDRS)) as driver:
        identity = driver.identify()
        pack = driver.read()

    assert identity.serial_number == devices[0].device_info_frame()[86:97].decode()
    assert identity.extra["layout"] == layout  # chosen from the hardware version
    assert [u.index for u in pack.units] == [1, 2]
    assert pack.power == pytest.approx(truth.battery_w, abs=1.0)
    assert known(pack.current) > 0
    assert pack.soc == pytest.approx(truth.soc, abs=0.5)
    assert pack.cells_per_battery == 16
    assert [d.connects for d in devices] == [1, 1]


def test_configured_layout_overrides_the_hardware_version(ble_devices, plant) -> None:
    fake_pack(plant, ADDRS[:1], layout="24s", cells=16)
    with closing(driver_for(ADDRS[:1], layout="24s")) as driver:
        assert len(driver.read().units[0].cells) == 16
    with closing(driver_for(ADDRS[:1], layout="32s")) as driver:
        # A 24S frame decoded as 32S yields impossible cells: rejected, never stored.
        assert driver.identify().extra["layout"] == "32s"
        with pytest.raises(ImplausibleReading):
            driver.read()


@pytest.mark.parametrize("fault", ["silence", "garbage", "truncated", "bad_checksum", "disconnect",
                                   "absent"])
def test_faults_raise_and_never_give_a_reading(ble_devices, plant, fake_clock, fault) -> None:
    devices = fake_pack(plant, ADDRS[:1])
    with closing(driver_for(ADDRS[:1], clock=fake_clock)) as driver:
        driver.read()
        devices[0].fault = fault
        with pytest.raises(TransportError):
            driver.read()
        devices[0].fault = None
        fake_clock.advance(2.0)
        assert driver.read().batteries_count == 1


def test_bad_checksum_frames_are_counted(ble_devices, plant) -> None:
    devices = fake_pack(plant, ADDRS[:1])
    with closing(driver_for(ADDRS[:1])) as driver:
        driver.identify()
        devices[0].fault = "bad_checksum"
        with pytest.raises(TransportError):
            driver.read()
        assert driver.links[0].assembler.corrupt_frames == 2  # settings and cell-info frames


def test_reconnect_backs_off_exponentially(ble_devices, plant, fake_clock) -> None:
    devices = fake_pack(plant, ADDRS[:1])
    devices[0].fault = "absent"
    with closing(driver_for(ADDRS[:1], clock=fake_clock)) as driver:
        attempts = []
        for _ in range(12):  # poll every 0.5 s for 6 s
            with pytest.raises(TransportError):
                driver.read()
            attempts.append(devices[0].connects)
            fake_clock.advance(0.5)
        # Attempts at t = 0, 2, 6 s: waits of 2 s, then 4 s (base 2 s, doubling).
        assert attempts == [1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]
        fake_clock.advance(0.5)  # t = 6 s
        devices[0].fault = None
        assert driver.read().batteries_count == 1
        assert devices[0].connects == 3
        assert driver.links[0].failures == 0


def test_link_dropped_mid_frame_is_reconnected(ble_devices, plant, fake_clock) -> None:
    devices = fake_pack(plant, ADDRS[:1])
    with closing(driver_for(ADDRS[:1], clock=fake_clock)) as driver:
        driver.read()
        devices[0].fault = "disconnect"
        with pytest.raises(TransportError, match="dropped"):
            driver.read()
        devices[0].fault = None
        fake_clock.advance(2.0)
        driver.read()
    assert devices[0].connects == 2


def test_one_unreachable_battery_fails_the_pack_read_naming_it(ble_devices, plant) -> None:
    devices = fake_pack(plant, ADDRS)
    devices[1].fault = "absent"
    with closing(driver_for(ADDRS)) as driver, pytest.raises(TransportError, match=ADDRS[1]):
        driver.read()


def test_close_stops_the_private_event_loop(ble_devices, plant) -> None:
    fake_pack(plant, ADDRS)
    before = set(threading.enumerate())
    driver = driver_for(ADDRS)
    driver.read()
    driver.close()
    assert set(threading.enumerate()) <= before


@pytest.mark.parametrize("layout", ["24s", "32s"])
def test_an_absent_temperature_sensor_is_unknown_not_minus_200(ble_devices, plant, layout) -> None:
    fake_pack(plant, ADDRS[:1], layout=layout, absent_sensors=("temp1",))
    with closing(driver_for(ADDRS[:1])) as driver:
        pack = driver.read()
    extra = pack.extra["units"][1]
    assert pack.units[0].temperature == pytest.approx(25.5)  # temp2 alone (the simulated unit is at 25 °C)
    assert "temp1" not in extra and extra["absent_temp_sensors"] == ["temp1"]
    assert pack.flags == []
