"""``read_device``, ``simulate`` and ``poll --once`` from the command line, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from adapters.simulators.jkbms import JkGatewaySimulator
from adapters.simulators.modbus import IammeterSimulator, PowdriveSimulator
from adapters.simulators.plant import Plant
from adapters.simulators.pytes import PytesSimulator
from solarmon.demo import DemoRig
from telemetry import models as t

pytestmark = pytest.mark.timeout(60)


def _read(adapter_type: str, config: dict[str, object], *extra: str) -> dict[str, object]:
    out = StringIO()
    call_command("read_device", "--type", adapter_type, "--config", json.dumps(config), *extra, stdout=out)
    return dict(json.loads(out.getvalue()))


def test_read_device_prints_identity_and_reading_of_an_inverter() -> None:
    plant = Plant()
    with PowdriveSimulator(plant, serial="AH12345678") as sim:
        port = sim.serve_tcp(0)
        result = _read("powdrive", {"transport": "tcp", "host": "127.0.0.1", "port": port})
    assert result["serial_number"] == "AH12345678"
    reading = result["reading"]
    assert isinstance(reading, dict)
    assert reading["pv_power_w"] == pytest.approx(plant.state().pv_w, abs=150)
    assert reading["soc"] == pytest.approx(plant.state().soc, abs=1.5)


def test_read_device_identify_only_reads_no_values() -> None:
    with IammeterSimulator(Plant(), serial="IAM0000123") as sim:
        port = sim.serve_tcp(0)
        result = _read("iammeter", {"transport": "tcp", "host": "127.0.0.1", "port": port}, "--identify")
    assert result["serial_number"] == "IAM0000123" and "reading" not in result


def test_read_device_reads_battery_types() -> None:
    plant = Plant()
    with PytesSimulator(plant, batteries=2, cells_per_battery=16) as sim:
        pytes = _read("pytes", {"serial_port": sim.path, "timeout": 2.0})
    reading = pytes["reading"]
    assert isinstance(reading, dict) and len(reading["units"]) == 2
    assert len(reading["units"][0]["cells"]) == 16
    gateway = JkGatewaySimulator(plant, addresses=[1, 2]).start()
    try:
        jk = _read("jkbms_tcpip", {"host": "127.0.0.1", "port": gateway.port, "addresses": [1, 2],
                                   "request_gap_ms": 0})
    finally:
        gateway.stop()
    assert jk["kind"] == "battery" and jk["serial_number"]


def test_read_device_failure_names_the_device_and_the_cause() -> None:
    with pytest.raises(CommandError) as err:
        _read("senergy", {"transport": "tcp", "host": "127.0.0.1", "port": 1, "timeout": 0.3})
    message = str(err.value)
    assert "senergy at tcp 127.0.0.1:1" in message and "refused" in message
    with pytest.raises(CommandError, match="serial_port"):
        _read("powdrive", {"transport": "rtu"})
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("read_device", "--type", "pytes", "--config", "{nope")


def test_simulate_command_serves_until_terminated() -> None:
    proc = subprocess.Popen([sys.executable, "manage.py", "simulate", "iammeter", "--tcp", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "127.0.0.1:" in line
    finally:
        proc.terminate()
        assert proc.wait(15) == 0


@pytest.mark.django_db
def test_poll_once_prints_a_table_and_stores_samples(installation: DemoRig) -> None:
    out = StringIO()
    call_command("poll", "--once", stdout=out)
    text = out.getvalue()
    assert "inverter powdrive1" in text and "battery_pack jkbms_bank" in text
    assert "6 of 6 devices read" in text
    assert t.EnergySample.objects.count() == 3
    assert t.SystemSample.objects.count() == 1


@pytest.mark.django_db
def test_poll_once_without_devices_says_what_to_do() -> None:
    with pytest.raises(CommandError, match="run discovery or import a config"):
        call_command("poll", "--once")
