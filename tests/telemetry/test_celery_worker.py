"""A real Celery worker, in its own process, runs a poll round over a real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from solarmon.demo import DemoRig
from telemetry import models as t
from telemetry.queues import collector_queue

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _broker(kind: str, data_dir: Path, request: pytest.FixtureRequest) -> tuple[str, dict[str, object]]:
    if kind == "redis":
        return request.getfixturevalue("redis_url"), {}
    folder = data_dir / "broker" / "in"
    folder.mkdir(parents=True, exist_ok=True)
    (data_dir / "broker" / "processed").mkdir(exist_ok=True)
    return "filesystem://", {"data_folder_in": str(folder), "data_folder_out": str(folder),
                             "processed_folder": str(data_dir / "broker" / "processed"),
                             "control_folder": str(data_dir / "broker" / "control"),
                             "store_processed": False}


def _round_complete() -> bool:
    return (t.EnergySample.objects.count() == 3 and t.MeterSample.objects.count() == 1
            and t.BatteryBankSample.objects.count() == 2 and t.SystemSample.objects.exists())


@pytest.mark.parametrize("broker", ["filesystem", "redis"])
def test_worker_polls_the_installation(live_installation: DemoRig, broker: str, tmp_path: Path,
                                       request: pytest.FixtureRequest) -> None:
    url, options = _broker(broker, tmp_path, request)
    env = {**os.environ, "CELERY_BROKER_URL": url, "SOLARMON_DATA_DIR": str(tmp_path),
           "SECRET_KEY": settings.SECRET_KEY, "DATABASE_URL": _database_url()}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "solarmon", "worker", "--pool", "solo",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, cwd=settings.BASE_DIR)
    try:
        from solarmon.celery import app

        with Connection(url, transport_options=options) as conn:
            app.send_task("telemetry.tasks.dispatch_polls", connection=conn)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not _round_complete():
                assert worker.poll() is None, "the worker died"
                time.sleep(0.5)
            # A poll that waited in the queue past its expiry is not dropped silently.
            slot = timezone.now().replace(microsecond=0) - timedelta(seconds=30)
            t.DeviceStatus.objects.filter(device_id="powdrive1").update(pending_slot=slot)
            app.send_task("telemetry.tasks.poll_bus", args=(["inverter:powdrive1"], slot.isoformat()),
                          queue=collector_queue(settings.SOLARMON_COLLECTOR), connection=conn,
                          expires=timezone.now() - timedelta(seconds=1))
            while time.monotonic() < deadline and not t.DeviceStatus.objects.filter(
                    device_id="powdrive1", missed_polls=1).exists():
                assert worker.poll() is None, "the worker died"
                time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(30)
    assert set(t.EnergySample.objects.values_list("inverter_id", flat=True)) == {
        "powdrive1", "senergy1", "powdrive2"}
    assert t.BatteryCellSample.objects.filter(pack_id="battery1").count() == 32
    assert t.MeterSample.objects.count() == 1
    assert t.SystemSample.objects.get().grid_source == "meter"
    assert t.DeviceStatus.objects.filter(consecutive_failures=0).count() == 6
    expired = t.DeviceStatus.objects.get(device_id="powdrive1")
    assert expired.missed_polls == 1 and "expired in the queue" in expired.last_missed_reason
    assert expired.pending_slot is None
