"""Failover between a wired JK gateway (primary) and BLE (secondary), on real simulators."""

from __future__ import annotations

import pytest

from adapters.errors import AdapterError
from adapters.failover import FailoverReader
from adapters.jkbms_ble.driver import JkbmsBleDriver
from adapters.jkbms_tcpip.driver import JkbmsTcpDriver
from adapters.simulators.jkbms_ble import FakeBleakClient, fake_pack

pytestmark = pytest.mark.timeout(30)

BLE_ADDRESS = "C8:47:80:1A:1F:04"
FAILBACK_S = 60.0


@pytest.fixture
def pack_adapters(jk_gateway, ble_devices, plant, fake_clock):
    """The spec's example pack: jkbms_tcpip priority 1, jkbms_ble priority 2."""
    gateway = jk_gateway(addresses=[1])
    ble = fake_pack(plant, [BLE_ADDRESS])[0]
    wired = JkbmsTcpDriver({"host": "127.0.0.1", "port": gateway.port, "addresses": [1], "timeout": 0.3,
                            "request_gap_ms": 0})
    wireless = JkbmsBleDriver({"bt_addresses": [BLE_ADDRESS], "timeout": 0.3, "reconnect_backoff_s": 0},
                              client_factory=FakeBleakClient)
    # Listed out of order on purpose: priority, not position, decides.
    reader = FailoverReader([("jk_ble_failover", 2, wireless), ("jk_tcp_primary", 1, wired)],
                            failback_interval_s=FAILBACK_S, clock=fake_clock)
    yield reader, gateway, ble
    reader.close()


def test_reads_through_the_primary_while_it_works(pack_adapters, plant) -> None:
    reader, _, ble = pack_adapters
    reading = reader.read()
    assert reading.adapter_id == "jk_tcp_primary" == reader.active_adapter_id
    assert reading.power == pytest.approx(plant.state().battery_w, abs=1.0)
    assert ble.connects == 0


def test_fails_over_when_the_primary_goes_silent(pack_adapters, plant) -> None:
    reader, gateway, _ = pack_adapters
    reader.read()
    gateway.fault = "silence"
    reading = reader.read()
    assert reading.adapter_id == "jk_ble_failover" == reader.active_adapter_id
    assert reading.power == pytest.approx(plant.state().battery_w, abs=1.0)
    assert "no frame" in reader.status()["errors"]["jk_tcp_primary"]


def test_fails_back_only_after_the_interval(pack_adapters, fake_clock) -> None:
    reader, gateway, _ = pack_adapters
    gateway.fault = "silence"
    assert reader.read().adapter_id == "jk_ble_failover"
    gateway.fault = None
    polls_before = len(gateway.requests)
    fake_clock.advance(FAILBACK_S / 2)
    assert reader.read().adapter_id == "jk_ble_failover"
    assert len(gateway.requests) == polls_before  # the primary is not probed on every poll
    fake_clock.advance(FAILBACK_S / 2)
    assert reader.read().adapter_id == "jk_tcp_primary"
    assert reader.active_adapter_id == "jk_tcp_primary"
    assert reader.status()["errors"] == {}


def test_when_every_adapter_fails_the_error_names_each(pack_adapters) -> None:
    reader, gateway, ble = pack_adapters
    gateway.fault = "silence"
    ble.fault = "absent"
    with pytest.raises(AdapterError) as caught:
        reader.read()
    message = str(caught.value)
    assert "jk_tcp_primary: " in message and "no frame" in message
    assert "jk_ble_failover: " in message and BLE_ADDRESS in message
    assert not caught.value.permanent
