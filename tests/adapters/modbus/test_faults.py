"""Injected faults give the documented error class and never a reading; drivers recover."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import datetime

import pytest

from adapters.errors import DeviceError, ImplausibleReading, TransportError, WrongDevice
from adapters.powdrive.driver import PowdriveDriver
from adapters.registry import config_with_defaults
from adapters.simulators.modbus import ModbusSimulator, PowdriveSimulator

from .conftest import config_for, frozen_plant

pytestmark = pytest.mark.timeout(60)
Start = Callable[[ModbusSimulator], ModbusSimulator]


@pytest.fixture
def sim(running: Start, discharging_ts: datetime) -> ModbusSimulator:
    return running(PowdriveSimulator(frozen_plant(discharging_ts), profile="three-phase"))


def _driver(sim: ModbusSimulator, transport: str, **extra: object) -> PowdriveDriver:
    return PowdriveDriver(config_with_defaults("powdrive", config_for(sim, transport, **extra)))


@pytest.mark.parametrize("transport", ["tcp", "rtu", "rtu_over_tcp"])
def test_silent_device_times_out_after_about_the_configured_timeout(sim: ModbusSimulator,
                                                                     transport: str) -> None:
    sim.inject(no_reply=True)
    with _driver(sim, transport) as driver:
        began = time.monotonic()
        with pytest.raises(TransportError, match=r"timeout after 0.5 s reading holding 0\.\.22"):
            driver.identify()
        assert time.monotonic() - began < 1.5


@pytest.mark.parametrize(("transport", "faults"), [
    ("rtu", {"bad_crc": True}), ("rtu_over_tcp", {"bad_crc": True}),
    ("rtu", {"garbage": True}), ("tcp", {"garbage": True}),
])
def test_corrupted_replies_are_transport_errors(sim: ModbusSimulator, transport: str,
                                                faults: dict[str, bool]) -> None:
    with _driver(sim, transport) as driver:
        driver.identify()
        sim.inject(**faults)
        with pytest.raises(TransportError, match="garbled reply"):
            driver.read()


def test_exception_reply_is_a_device_error_naming_code_and_range(sim: ModbusSimulator) -> None:
    sim.inject(exception_code=4)
    with _driver(sim, "tcp") as driver, \
            pytest.raises(DeviceError, match=r"exception reply 04 \(server device failure\) reading 0\.\.22"):
        driver.identify()


def test_dropped_connection_is_a_transport_error_and_the_next_poll_reconnects(sim: ModbusSimulator) -> None:
    with _driver(sim, "tcp") as driver:
        driver.identify()
        sim.inject(drop=True)
        with pytest.raises(TransportError, match="connection closed"):
            driver.read()
        sim.clear_faults()
        assert driver.read().soc is not None


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_slow_reply_beyond_the_timeout_fails_and_a_late_reply_does_not_leak_into_the_next(
        sim: ModbusSimulator, transport: str, discharging_ts: datetime) -> None:
    with _driver(sim, transport) as driver:
        driver.identify()
        sim.inject(delay_s=0.8, remaining=1)
        with pytest.raises(TransportError, match="timeout"):
            driver.read()
        time.sleep(0.4)  # the late reply arrives now, between polls
        reading = driver.read()
    assert reading.grid_power_w == pytest.approx(frozen_plant(discharging_ts).state().grid_w, abs=0.5)


def test_slow_reply_within_the_timeout_succeeds(sim: ModbusSimulator) -> None:
    sim.inject(delay_s=0.05)
    with _driver(sim, "rtu_over_tcp") as driver:
        assert driver.read().soc is not None


def test_planner_splits_a_rejected_block_and_remembers_the_plan(sim: ModbusSimulator,
                                                                discharging_ts: datetime) -> None:
    # 530..533 is a hole the planner bridges (between today's PV at 529 and total PV at 534).
    sim.inject(exception_code=2, exception_ranges=[(530, 533)])
    with _driver(sim, "tcp") as driver:
        driver.identify()
        sim.stats.reset()
        first = driver.read()
        first_cost = sim.stats.transactions
        sim.stats.reset()
        second = driver.read()
        plan = driver.reader.plans["three-phase"]
    truth = frozen_plant(discharging_ts).state()
    assert first.pv_total_kwh == second.pv_total_kwh == pytest.approx(truth.pv_kwh, abs=0.05)
    assert not any(b.start <= 531 <= b.end for b in plan)
    assert sim.stats.transactions == len(plan) < first_cost  # no rejected request the second time


def test_a_needed_register_the_device_refuses_is_a_device_error(sim: ModbusSimulator) -> None:
    sim.inject(exception_code=2, exception_ranges=[(588, 588)])  # SOC
    with _driver(sim, "tcp") as driver:
        driver.identify()
        with pytest.raises(DeviceError, match=r"illegal data address\) reading 588\.\.588"):
            driver.read()


@pytest.mark.parametrize("kind", ["backwards", "jump"])
def test_counter_glitch_is_withheld_not_reported(sim: ModbusSimulator, kind: str,
                                                 discharging_ts: datetime) -> None:
    truth = frozen_plant(discharging_ts).state()
    with _driver(sim, "tcp") as driver:
        driver.read()
        sim.glitch_counters(kind)  # type: ignore[arg-type]
        glitched = driver.read()
        after = driver.read()
    assert glitched.pv_total_kwh is None
    assert "pv_total_kwh" in glitched.extra["withheld_counters"]
    assert glitched.soc == pytest.approx(truth.soc, abs=0.5)  # the live values are still good
    assert after.pv_total_kwh == pytest.approx(truth.pv_kwh, abs=0.05)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("battery_voltage", 600.0, "battery voltage 6000"),  # LV register × 0.01 V, read as HV garbage
    ("grid_voltage_l1", 655.0, "grid voltage 655"),
])
def test_a_reading_whose_voltages_cannot_be_this_device_is_rejected(sim: ModbusSimulator, field: str,
                                                                    value: float, message: str) -> None:
    sim.overrides[field] = value
    with _driver(sim, "tcp", profile="three-phase-hv") if field == "battery_voltage" \
            else _driver(sim, "tcp") as driver, pytest.raises(ImplausibleReading, match=message):
        driver.read()


@pytest.mark.parametrize(("field", "value", "attribute", "flag"), [
    ("battery_soc", 250, "soc", "SOC 250 % is outside 0..100 %: value unknown"),
    # The limit is 10 × the simulator's rated 12 kW.
    ("grid_power", -2_000_000, "grid_power_w",
     "grid power -2e+06 W is outside -120000..120000 W: value unknown"),
])
def test_one_impossible_value_is_unknown_and_flagged_the_rest_kept(sim: ModbusSimulator, field: str,
                                                                   value: float, attribute: str, flag: str,
                                                                   discharging_ts: datetime) -> None:
    sim.overrides[field] = value
    with _driver(sim, "tcp") as driver:
        reading = driver.read()
    truth = frozen_plant(discharging_ts).state()
    assert getattr(reading, attribute) is None
    assert reading.flags == [flag]
    assert reading.load_power_w == pytest.approx(truth.load_w, abs=0.5)
    assert reading.batt_power_w == pytest.approx(truth.battery_w, abs=0.5)


def test_two_impossible_values_are_no_glitch_and_the_reading_is_rejected(sim: ModbusSimulator) -> None:
    sim.overrides.update(battery_soc=250, grid_power=-2_000_000)
    with _driver(sim, "tcp") as driver, pytest.raises(ImplausibleReading, match="too many impossible values"):
        driver.read()


@pytest.mark.parametrize("serial", ["", "\x01\x02garbage", "AB CD"])
def test_unprintable_or_empty_serial_is_the_wrong_device(running: Start, discharging_ts: datetime,
                                                        serial: str) -> None:
    sim = running(PowdriveSimulator(frozen_plant(discharging_ts), serial=serial))
    with _driver(sim, "tcp") as driver, pytest.raises(WrongDevice, match="serial number"):
        driver.identify()


def test_refused_connection_names_the_cause() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        config = config_with_defaults("powdrive", {"transport": "tcp", "host": "127.0.0.1", "port": port,
                                                   "timeout": 0.5})
        with PowdriveDriver(config) as driver, pytest.raises(TransportError, match="connection refused"):
            driver.identify()


def test_missing_serial_port_names_the_cause() -> None:
    config = config_with_defaults("powdrive", {"transport": "rtu", "serial_port": "/dev/ttyNOPE9",
                                               "timeout": 0.2})
    with PowdriveDriver(config) as driver, pytest.raises(TransportError, match="no such device"):
        driver.identify()


def test_driver_recovers_after_every_fault_is_cleared(sim: ModbusSimulator) -> None:
    with _driver(sim, "rtu") as driver:
        driver.identify()
        for faults in ({"no_reply": True}, {"bad_crc": True}, {"garbage": True}, {"exception_code": 6}):
            sim.inject(**faults)
            with pytest.raises((TransportError, DeviceError)):
                driver.read()
            sim.clear_faults()
            assert driver.read().soc is not None
