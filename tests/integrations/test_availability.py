"""A device that stops answering turns unavailable in Home Assistant, and available again."""

from __future__ import annotations

import time

import pytest

from integrations.mqtt.publisher import Publisher
from solarmon.demo import DemoRig
from telemetry.models import DeviceStatus
from telemetry.status import STALE_AFTER_INTERVALS
from tests.integrations.conftest import HaListener, PollLoop, fast_polls

pytestmark = [pytest.mark.mqtt, pytest.mark.slow, pytest.mark.timeout(120)]


def test_a_silent_inverter_turns_unavailable_within_its_stale_time_and_back(
        live_installation: DemoRig, listener: HaListener, publisher: Publisher) -> None:
    fast_polls()
    inverter = publisher.naming
    topic = f"{inverter.base}/inverter/powdrive1/availability"
    state_topic = f"{inverter.base}/inverter/powdrive1/state"
    simulator = live_installation.by_adapter["powdrive1_adapter"]
    with PollLoop() as polls:
        listener.wait(lambda: listener.payload(topic) == b"online", what="powdrive1 online")
        simulator.inject(no_reply=True)  # the cable is pulled
        pulled, rounds = time.monotonic(), polls.rounds
        listener.wait(lambda: listener.payload(topic) == b"offline", timeout=20, what="powdrive1 offline")
        last_seen = DeviceStatus.objects.get(device_id="powdrive1").last_seen
        took = time.monotonic() - pulled
        frozen = listener.payload(state_topic)
        # Within the stale time (3 polls of 1 s), plus the 0.5 s check and one timed-out poll.
        assert took <= STALE_AFTER_INTERVALS * 1.0 + 2.0, took
        # Meanwhile the other devices stay available.
        assert listener.payload(f"{inverter.base}/inverter/senergy1/availability") == b"online"
        time.sleep(1.5)
        assert listener.payload(state_topic) == frozen  # no value re-broadcast as live
        simulator.clear_faults()
        listener.wait(lambda: listener.payload(topic) == b"online", timeout=15, what="powdrive1 back")
        assert DeviceStatus.objects.get(device_id="powdrive1").last_seen > last_seen
        # Polling went on throughout: the rounds that timed out and the one that found it back,
        # and (a loaded machine only stretches the rounds) a fourth round of the whole loop.
        assert polls.rounds - rounds >= 2
        deadline = time.monotonic() + 10
        while polls.rounds < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert polls.rounds >= 4


def test_a_device_no_longer_polled_at_all_still_turns_unavailable(
        live_installation: DemoRig, listener: HaListener, publisher: Publisher) -> None:
    fast_polls()
    topic = f"{publisher.naming.base}/meter/grid_meter_1/availability"
    with PollLoop() as polls:
        listener.wait(lambda: listener.payload(topic) == b"online", what="meter online")
        polls.skip.add("grid_meter_1")  # no poll, no failure, no signal: only time passes
        stopped = time.monotonic()
        listener.wait(lambda: listener.payload(topic) == b"offline", timeout=20, what="meter offline")
        assert time.monotonic() - stopped <= STALE_AFTER_INTERVALS * 1.0 + 2.0
