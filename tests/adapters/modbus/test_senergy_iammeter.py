"""The Senergy and IAMMeter drivers against their simulators, checked against the plant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from adapters.iammeter.driver import IammeterDriver
from adapters.registry import config_with_defaults, validate_config
from adapters.senergy.driver import SenergyDriver
from adapters.simulators.modbus import IammeterSimulator, ModbusSimulator, SenergySimulator

from .conftest import TRANSPORTS, config_for, frozen_plant, today_kwh

pytestmark = pytest.mark.timeout(60)
Start = Callable[[ModbusSimulator], ModbusSimulator]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_senergy_reading_matches_the_plant(running: Start, discharging_ts: datetime, transport: str) -> None:
    plant = frozen_plant(discharging_ts)
    truth = plant.state()
    sim = running(SenergySimulator(plant, serial="SE6K2024B0000042"))
    with SenergyDriver(config_with_defaults("senergy", config_for(sim, transport))) as driver:
        identity = driver.identify()
        reading = driver.read()
    assert identity.serial_number == "SE6K2024B0000042"
    assert identity.model == "SE 6KW"
    assert reading.batt_power_w is not None and reading.batt_power_w < 0
    assert reading.batt_power_w == pytest.approx(truth.battery_w, abs=0.06)
    assert reading.batt_current_a is not None and reading.batt_current_a < 0
    assert reading.grid_power_w == pytest.approx(truth.grid_w, abs=0.06)
    assert reading.grid_power_w is not None and reading.grid_power_w > 0
    assert reading.load_power_w == pytest.approx(truth.load_w, abs=0.06)
    assert reading.soc == pytest.approx(truth.soc, abs=0.5)
    assert reading.grid_import_total_kwh == pytest.approx(truth.import_kwh, abs=0.005)
    assert reading.batt_discharge_total_kwh == pytest.approx(truth.discharge_kwh, abs=0.005)
    assert reading.pv_total_kwh == pytest.approx(truth.pv_kwh, abs=0.5)  # whole kWh register
    assert reading.pv_today_kwh == pytest.approx(today_kwh(plant, discharging_ts)["pv"], abs=0.0005)


def test_senergy_battery_and_grid_signs_are_configurable(running: Start, charging_ts: datetime) -> None:
    truth = frozen_plant(charging_ts).state()
    sim = running(SenergySimulator(frozen_plant(charging_ts)))
    default = config_for(sim, "tcp")
    with SenergyDriver(config_with_defaults("senergy", default)) as driver:
        assert driver.read().batt_power_w == pytest.approx(truth.battery_w, abs=0.06)
    flipped = {**default, "battery_power_sign": 1, "grid_power_sign": -1}
    assert validate_config("senergy", flipped) == []
    with SenergyDriver(config_with_defaults("senergy", flipped)) as driver:
        reading = driver.read()
    assert reading.batt_power_w == pytest.approx(-truth.battery_w, abs=0.06)
    assert reading.grid_power_w == pytest.approx(-truth.grid_w, abs=0.06)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("model", ["WEM3080", "WEM3080T"])
def test_iammeter_reading_matches_the_plant_while_importing(
        running: Start, discharging_ts: datetime, transport: str, model: str) -> None:
    truth = frozen_plant(discharging_ts).state()
    sim = running(IammeterSimulator(frozen_plant(discharging_ts), model=model, serial="IAM000123456789X"))
    config = config_with_defaults("iammeter", config_for(sim, transport, model=model))
    with IammeterDriver(config) as driver:
        identity = driver.identify()
        reading = driver.read()
    phases = 3 if model == "WEM3080T" else 1
    assert identity.serial_number == "IAM000123456789X"
    assert reading.grid_power_w is not None and reading.grid_power_w > 0
    assert reading.grid_power_w == pytest.approx(truth.grid_w, abs=phases * 0.5)
    # Counters step by 1/800 kWh (three-phase, and RTU) or 1/3200 kWh (single-phase TCP).
    assert reading.grid_import_wh == pytest.approx(truth.import_kwh * 1000, abs=1.25)
    assert reading.grid_export_wh == pytest.approx(truth.export_kwh * 1000, abs=1.25)
    assert reading.energy_kwh == pytest.approx(truth.import_kwh, abs=0.00125)
    assert reading.voltage_phase_a == pytest.approx(230.0)
    if phases == 3 or transport != "tcp":  # the 8-register WEM3080 TCP map has no frequency
        assert reading.grid_frequency_hz == pytest.approx(50.0)
    assert reading.power_phase_a == pytest.approx(truth.grid_w / phases, abs=0.5)
    if phases == 3:
        assert reading.power_phase_c == pytest.approx(truth.grid_w / 3, abs=0.5)
    else:
        assert reading.power_phase_c is None


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_iammeter_export_reads_negative(running: Start, charging_ts: datetime, transport: str) -> None:
    truth = frozen_plant(charging_ts).state()
    sim = running(IammeterSimulator(frozen_plant(charging_ts)))
    with IammeterDriver(config_with_defaults("iammeter", config_for(sim, transport))) as driver:
        reading = driver.read()
    assert reading.grid_power_w is not None and reading.grid_power_w < 0
    assert reading.grid_power_w == pytest.approx(truth.grid_w, abs=1.5)
    assert reading.power_phase_b == pytest.approx(truth.grid_w / 3, abs=0.5)
