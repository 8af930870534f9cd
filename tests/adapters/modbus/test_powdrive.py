"""The Powdrive (Deye-family) driver against its simulator, checked against the plant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from adapters.powdrive.driver import PowdriveDriver
from adapters.registry import config_with_defaults
from adapters.simulators.modbus import ModbusSimulator, PowdriveSimulator

from .conftest import TRANSPORTS, config_for, frozen_plant, today_kwh

pytestmark = pytest.mark.timeout(60)
Start = Callable[[ModbusSimulator], ModbusSimulator]


def _driver(sim: ModbusSimulator, transport: str, **extra: object) -> PowdriveDriver:
    return PowdriveDriver(config_with_defaults("powdrive", config_for(sim, transport, **extra)))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("profile", ["single-phase", "three-phase", "three-phase-hv"])
def test_reading_matches_the_plant_while_the_battery_discharges(
        running: Start, discharging_ts: datetime, transport: str, profile: str) -> None:
    plant = frozen_plant(discharging_ts)
    truth = plant.state()
    sim = running(PowdriveSimulator(plant, profile=profile))
    step = 10 if profile == "three-phase-hv" else 1  # HV counts PV and battery power in 10 W
    with _driver(sim, transport) as driver:
        reading = driver.read()
    assert reading.batt_power_w is not None and reading.batt_power_w < 0  # discharging reads negative
    assert reading.batt_power_w == pytest.approx(truth.battery_w, abs=step / 2)
    assert reading.batt_current_a is not None and reading.batt_current_a < 0
    assert reading.grid_power_w is not None and reading.grid_power_w > 0  # importing reads positive
    assert reading.grid_power_w == pytest.approx(truth.grid_w, abs=0.5)
    assert reading.pv_power_w == pytest.approx(truth.pv_w, abs=step)
    assert reading.load_power_w == pytest.approx(truth.load_w, abs=0.5)
    assert reading.soc == pytest.approx(truth.soc, abs=0.5)
    assert reading.grid_import_total_kwh == pytest.approx(truth.import_kwh, abs=0.05)
    assert reading.batt_discharge_total_kwh == pytest.approx(truth.discharge_kwh, abs=0.05)
    assert reading.pv_total_kwh == pytest.approx(truth.pv_kwh, abs=0.05)
    assert reading.load_today_kwh == pytest.approx(today_kwh(plant, discharging_ts)["load"], abs=0.05)
    assert reading.extra["profile"] == profile


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_charging_battery_and_export_read_positive_and_negative(
        running: Start, charging_ts: datetime, transport: str) -> None:
    truth = frozen_plant(charging_ts).state()
    sim = running(PowdriveSimulator(frozen_plant(charging_ts), profile="three-phase"))
    with _driver(sim, transport) as driver:
        reading = driver.read()
    assert reading.batt_power_w == pytest.approx(truth.battery_w, abs=0.5)
    assert reading.batt_power_w is not None and reading.batt_power_w > 0
    assert reading.grid_power_w is not None and reading.grid_power_w < 0
    assert reading.grid_export_total_kwh == pytest.approx(truth.export_kwh, abs=0.05)
    assert reading.batt_charge_total_kwh == pytest.approx(truth.charge_kwh, abs=0.05)


@pytest.mark.parametrize(("code", "profile"), [
    (0x0300, "single-phase"), (0x0005, "three-phase"), (0x0600, "three-phase-hv"),
    (0x0601, "three-phase-hv"), (0x7777, "single-phase"),
])
def test_profile_follows_device_type_register_zero(running: Start, discharging_ts: datetime,
                                                   code: int, profile: str) -> None:
    sim = running(PowdriveSimulator(frozen_plant(discharging_ts), device_type=code))
    with _driver(sim, "tcp") as driver:
        identity = driver.identify()
        reading = driver.read()
    assert identity.extra["device_type"] == code
    assert reading.extra["profile"] == profile


def test_configured_profile_overrides_register_zero(running: Start, discharging_ts: datetime) -> None:
    sim = running(PowdriveSimulator(frozen_plant(discharging_ts), profile="three-phase",
                                    device_type=0x0300))  # claims single-phase, serves three-phase
    with _driver(sim, "tcp", profile="three-phase") as driver:
        reading = driver.read()
    assert reading.extra["profile"] == "three-phase"
    assert reading.grid_power_w == pytest.approx(frozen_plant(discharging_ts).state().grid_w, abs=0.5)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_identify_returns_the_configured_serial_number(running: Start, discharging_ts: datetime,
                                                       transport: str) -> None:
    sim = running(PowdriveSimulator(frozen_plant(discharging_ts), serial="AH12345678"))
    with _driver(sim, transport) as driver:
        identity = driver.identify()
    assert identity.serial_number == "AH12345678"
    assert "three-phase" in identity.model


@pytest.mark.parametrize("profile", ["three-phase", "three-phase-hv"])
def test_three_phase_poll_takes_at_most_eight_transactions(running: Start, discharging_ts: datetime,
                                                           profile: str) -> None:
    sim = running(PowdriveSimulator(frozen_plant(discharging_ts), profile=profile))
    with _driver(sim, "rtu_over_tcp") as driver:
        driver.read()  # the first poll also reads (and caches) the identity
        first = sim.stats.transactions
        sim.stats.reset()
        driver.read()
        second = sim.stats.transactions
    assert first <= 8
    assert second <= 7  # identity is not read again
    assert second < first


def test_one_register_per_request_would_cost_far_more(running: Start, discharging_ts: datetime) -> None:
    sim = running(PowdriveSimulator(frozen_plant(discharging_ts), profile="three-phase"))
    with _driver(sim, "tcp", max_block=1, gap_bridge=0) as driver:
        driver.identify()
        sim.stats.reset()
        driver.read()
    assert sim.stats.transactions > 50
