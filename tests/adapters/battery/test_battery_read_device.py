"""``adapters.tools.read_device`` end to end for each battery adapter type."""

from __future__ import annotations

import json
import socket

import pytest

from adapters.errors import AdapterError
from adapters.jkbms_ble import driver as ble_driver
from adapters.simulators.jkbms_ble import FakeBleakClient, fake_pack
from adapters.tools import read_device

pytestmark = pytest.mark.timeout(30)


def test_pytes_reads_and_prints_json(pytes_sim, plant) -> None:
    sim = pytes_sim(batteries=2, serials={1: "PPTAH0599990001", 2: "PPTAH0599990002"})
    result = read_device("pytes", {"serial_port": sim.path, "batteries": 2, "timeout": 1.0})
    json.dumps(result)  # printable as JSON
    assert result["serial_number"] == "PPTAH0599990001" and result["model"] == "E-BOX-48100V-D"
    assert result["kind"] == "battery"
    assert result["reading"]["power"] == pytest.approx(plant.state().battery_w, abs=1.0)
    assert len(result["reading"]["units"]) == 2


def test_pytes_failure_names_the_device_and_the_cause() -> None:
    with pytest.raises(AdapterError) as caught:
        read_device("pytes", {"serial_port": "/dev/ttyUSB-missing-7", "timeout": 0.2})
    assert "pytes at serial /dev/ttyUSB-missing-7" in str(caught.value)
    assert "cannot open" in str(caught.value)


def test_jkbms_tcpip_reads_and_prints_json(jk_gateway, plant) -> None:
    sim = jk_gateway(addresses=[1, 2])
    result = read_device("jkbms_tcpip", {"host": "127.0.0.1", "port": sim.port, "addresses": [1, 2],
                                         "timeout": 1.0, "request_gap_ms": 10})
    json.dumps(result)
    assert result["serial_number"] == sim.serials[1]
    assert result["reading"]["power"] == pytest.approx(plant.state().battery_w, abs=1.0)


def test_jkbms_tcpip_failure_names_the_device_and_the_cause() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(AdapterError) as caught:
        read_device("jkbms_tcpip", {"host": "127.0.0.1", "port": port, "timeout": 0.3})
    assert f"jkbms_tcpip at tcp 127.0.0.1:{port}" in str(caught.value)
    assert "cannot connect" in str(caught.value)


@pytest.fixture
def fake_radio(monkeypatch, ble_devices):
    """No Bluetooth radio here: every driver built by the registry gets FakeBleakClient."""
    monkeypatch.setattr(ble_driver, "DEFAULT_CLIENT_FACTORY", FakeBleakClient)
    return ble_devices


def test_jkbms_ble_reads_and_prints_json(fake_radio, plant) -> None:
    devices = fake_pack(plant, ["C8:47:80:00:00:0A", "C8:47:80:00:00:0B"])
    result = read_device("jkbms_ble", {"bt_addresses": [d.address for d in devices], "timeout": 1.0})
    json.dumps(result)
    assert result["serial_number"] == devices[0].serial_number
    assert result["reading"]["batteries_count"] == 2
    assert result["reading"]["power"] == pytest.approx(plant.state().battery_w, abs=1.0)


def test_jkbms_ble_failure_names_the_device_and_the_cause(fake_radio) -> None:
    with pytest.raises(AdapterError) as caught:
        read_device("jkbms_ble", {"bt_addresses": ["C8:47:80:00:00:0C"], "timeout": 0.3})
    assert "jkbms_ble at ble C8:47:80:00:00:0C" in str(caught.value)
    assert "not found" in str(caught.value)
