"""Broker outages and a killed worker, with real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from integrations.models import MqttSettings
from solarmon.demo import DemoRig
from telemetry import models as t
from tests.integrations.conftest import HaListener, PollLoop, configure, fast_polls, start_publisher
from tests.setup.services import _wait_port, free_port, start_mosquitto

pytestmark = [pytest.mark.mqtt, pytest.mark.slow, pytest.mark.timeout(180)]


def _latest_ts() -> dict[str, str]:
    out = {}
    for model, field, kind in ((t.EnergySample, "inverter_id", "inverter"),
                               (t.MeterSample, "meter_id", "meter"),
                               (t.BatteryBankSample, "pack_id", "pack")):
        for device_id in model.objects.values_list(field, flat=True).distinct():
            out[f"{kind}/{device_id}"] = model.objects.filter(**{field: device_id}).order_by("-ts")[0].ts
    return {k: v.isoformat() for k, v in out.items()}


def test_a_broker_restart_loses_no_state_of_the_latest_poll_and_polling_goes_on(
        live_installation: DemoRig, transactional_db: None, tmp_path: Path) -> None:
    fast_polls()
    port = free_port()
    workdir = str(tmp_path)
    broker = start_mosquitto(port, workdir)
    assert _wait_port(port, 10)
    url = f"mqtt://127.0.0.1:{port}"
    row = configure(url)
    from integrations.mqtt import runtime

    publisher = start_publisher(check_s=0.5, reconnect_max_s=1.0)
    runtime._publisher, runtime._owner_pid = publisher, os.getpid()
    listener = HaListener(url, [f"{row.base_topic}/#"])
    try:
        with PollLoop() as polls:
            listener.wait(lambda: listener.payload(f"{row.base_topic}/inverter/powdrive1/state") is not None,
                          what="first states")
            broker.kill()  # no goodbye: the broker is simply gone
            broker.wait(10)
            before = (polls.rounds, t.EnergySample.objects.count())
            # Polling goes on while the broker is away, at its own pace (a round a second when
            # the machine keeps up; a loaded one only stretches the rounds).
            deadline = time.monotonic() + 15
            while polls.rounds - before[0] < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            during = (polls.rounds, t.EnergySample.objects.count())
        assert during[0] - before[0] >= 3
        # At least a round of every inverter was stored (rounds within one second share a slot).
        assert during[1] - before[1] >= 3
        assert polls.slowest_s < 1.0
        latest = _latest_ts()  # the last poll happened while the broker was down
        broker = start_mosquitto(port, workdir)  # a fresh broker: it has lost every retained message
        assert _wait_port(port, 10)
        for device, ts in latest.items():
            topic = f"{row.base_topic}/{device}/state"
            listener.wait(lambda tp=topic, ts=ts: (listener.json(tp) or {}).get("ts") == ts, timeout=20,
                          what=f"{device} at {ts}")
        assert publisher.counters.dropped > 0  # what could not be sent was counted
        listener.wait(lambda: listener.payload(f"{row.base_topic}/status") == b"online", what="bridge online")
    finally:
        runtime._publisher, runtime._owner_pid = None, 0
        publisher.stop()
        listener.close()
        broker.kill()
        broker.wait(10)


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_a_worker_killed_with_sigkill_leaves_everything_unavailable(
        live_installation: DemoRig, mqtt_url: str, tmp_path: Path) -> None:
    row = configure("mqtt://127.0.0.1:1")  # the environment's URL wins over the stored one
    MqttSettings.objects.filter(pk=row.pk).update(enabled=False)
    listener = HaListener(mqtt_url, [f"{row.base_topic}/#", f"{row.discovery_prefix}/#"])
    env = {**os.environ, "SOLARMON_MQTT_URL": mqtt_url, "SOLARMON_DATA_DIR": str(tmp_path),
           "SECRET_KEY": settings.SECRET_KEY, "DATABASE_URL": _database_url(),
           "CELERY_BROKER_URL": "memory://", "SOLARMON_MQTT_CHECK_S": "0.5"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "solarmon", "worker", "--pool", "solo",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, cwd=settings.BASE_DIR)
    try:
        bridge = f"{row.base_topic}/status"
        listener.wait(lambda: listener.payload(bridge) == b"online", timeout=60, what="worker online")
        # Not yet polled, the packs have no battery units: 11 devices.
        listener.wait(lambda: len(listener.topics(f"{row.discovery_prefix}/device/")) >= 11, timeout=30,
                      what="discovery configs")
        config = listener.json(f"{row.discovery_prefix}/device/solarmon_inverter_powdrive1/config")
        assert {"topic": bridge} in config["availability"] and config["availability_mode"] == "all"
        os.kill(worker.pid, signal.SIGKILL)
        killed = time.monotonic()
        listener.wait(lambda: listener.payload(bridge) == b"offline", timeout=15, what="last will")
        assert time.monotonic() - killed < 10
        # Every device's availability includes the bridge topic, so all of them are unavailable now.
        for topic, payload in listener.topics(f"{row.discovery_prefix}/device/").items():
            assert {"topic": bridge} in json.loads(payload)["availability"], topic
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait(30)
        listener.close()
