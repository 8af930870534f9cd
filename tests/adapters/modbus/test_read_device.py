"""``adapters.tools.read_device`` end to end against each Modbus simulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import pytest

from adapters.errors import TransportError
from adapters.simulators.modbus import (
    IammeterSimulator,
    ModbusSimulator,
    PowdriveSimulator,
    SenergySimulator,
)
from adapters.tools import read_device

from .conftest import config_for, frozen_plant

pytestmark = pytest.mark.timeout(60)
Start = Callable[[ModbusSimulator], ModbusSimulator]
SIMULATORS: dict[str, Callable[..., ModbusSimulator]] = {
    "powdrive": PowdriveSimulator, "senergy": SenergySimulator, "iammeter": IammeterSimulator}


@pytest.mark.parametrize(("adapter_type", "transport", "kind"), [
    ("powdrive", "rtu", "inverter"), ("senergy", "tcp", "inverter"), ("iammeter", "tcp", "meter"),
    ("iammeter", "rtu_over_tcp", "meter"),
])
def test_read_device_prints_identity_and_normalized_reading(
        running: Start, discharging_ts: datetime, adapter_type: str, transport: str, kind: str) -> None:
    truth = frozen_plant(discharging_ts).state()
    sim = running(SIMULATORS[adapter_type](frozen_plant(discharging_ts), serial="SN01234567"))
    result = json.loads(json.dumps(read_device(adapter_type, config_for(sim, transport))))
    assert result["adapter_type"] == adapter_type
    assert result["serial_number"] == "SN01234567"
    assert result["kind"] == kind
    assert result["reading"]["grid_power_w"] == pytest.approx(truth.grid_w, abs=1.5)


@pytest.mark.parametrize("adapter_type", ["powdrive", "senergy", "iammeter"])
def test_read_device_failure_names_the_device_and_the_cause(running: Start, discharging_ts: datetime,
                                                            adapter_type: str) -> None:
    sim = running(SIMULATORS[adapter_type](frozen_plant(discharging_ts)))
    config = config_for(sim, "tcp")
    sim.inject(no_reply=True)
    with pytest.raises(TransportError) as caught:
        read_device(adapter_type, config)
    message = str(caught.value)
    assert message.startswith(f"{adapter_type} at tcp 127.0.0.1:{config['port']} unit 1: ")
    assert "timeout after 0.5 s reading holding" in message
    assert "\n" not in message
