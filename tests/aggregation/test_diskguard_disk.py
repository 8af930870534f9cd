"""A small disk fills up under a real worker: the guard prunes early and says so, a full disk
stops writing without crashing anything, writing resumes by itself, and the database is whole.

The data directory (SQLite database and filesystem broker) is a tmpfs of a few MB mounted by the
test. A Celery worker with beat polls a Powdrive simulator over Modbus TCP every second; the
test fills the disk with a filler file, first below the guard's threshold, then completely,
then frees it. SQLite only: the database file has to live on the small disk.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from adapters.simulators.modbus import PowdriveSimulator
from aggregation.storage_status import StorageStatus, storage_status
from tests.aggregation.smalldisk import fill, free_space, small_disk

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

HISTORY_DAYS = range(3, 8)  # rolled-up history, 3 to 7 days old: what the guard may prune
THRESHOLD_MB = 3
ROLLUPS = ("SELECT system_id, date, pv_energy_kwh, load_energy_kwh, sample_count FROM system_daily_summary "
           "WHERE date < date('now', '-2 days')")


def seed_site(port: int) -> None:
    """Runs in a subprocess on the small disk: the database, the installation, its history and
    beat's entries."""
    from django.core.management import call_command

    from aggregation.rollups import rollup_day
    from solarmon.schedule import install_beat_schedule
    from telemetry import models as t
    from tests import factories as f

    call_command("migrate", verbosity=0)
    sys_ = f.system("system", timezone="UTC")
    inv = f.inverter("inv1", f.array("array1", sys_), adapter=f.adapter("inv1_adapter", "powdrive", {
        "transport": "tcp", "host": "127.0.0.1", "port": port, "timeout": 0.5}, poll_interval_s=1.0))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for age in HISTORY_DAYS:
        day = (now - timedelta(days=age)).date()
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        t.EnergySample.objects.bulk_create(
            [t.EnergySample(ts=start + timedelta(minutes=m), inverter=inv, array_id="array1", system=sys_,
                            pv_power_w=1000 + m, load_power_w=500, grid_power_w=-100, batt_power_w=200,
                            soc=50.0, batt_voltage_v=52.1, pv_today_kwh=m / 60, load_today_kwh=m / 120,
                            adapter_id="inv1_adapter") for m in range(1440)], batch_size=500)
        rollup_day("system", day)
    install_beat_schedule()


class Site:
    """The worker and its database on the small disk, seen from the test."""

    def __init__(self, disk: Path, log: Path, env: dict[str, str]) -> None:
        self.disk, self.log, self.env = disk, log, env
        self.db = disk / "solarmon.sqlite3"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def count(self, where: str = "1") -> int:
        return int(self.query(f"SELECT count(*) FROM energy_samples WHERE {where}")[0][0])

    def status(self) -> StorageStatus:
        """What the dashboard's banner, the admin and /api/storage/ show for this disk."""
        with override_settings(DATA_DIR=self.disk):
            return storage_status()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(what: str, check: Callable[[], bool], worker: subprocess.Popen[bytes], site: Site,
             timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert worker.poll() is None, f"the worker died:\n{site.output()[-4000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{site.output()[-4000:]}"
        time.sleep(0.3)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Site, subprocess.Popen[bytes]]]:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite database file has to be on the small disk; this runs in the SQLite pass")
    with small_disk(tmp_path / "disk", "12m") as disk:
        sim = PowdriveSimulator()
        port = sim.serve_tcp(0)
        sim.start()
        env = {**os.environ, "SOLARMON_DATA_DIR": str(disk), "DATABASE_URL": f"sqlite:///{disk}/solarmon.sqlite3",
               "CELERY_BROKER_URL": "filesystem://", "SECRET_KEY": settings.SECRET_KEY,
               "SOLARMON_DISK_MIN_FREE_PCT": "100", "SOLARMON_DISK_MIN_FREE_MB": str(THRESHOLD_MB),
               "SOLARMON_DISK_GUARD_PERIOD_S": "2", "SOLARMON_DISPATCH_PERIOD_S": "1",
               "SOLARMON_LOG_LEVEL": "INFO"}
        subprocess.run([sys.executable, "-c", "import django; django.setup(); from tests.aggregation."
                        f"test_diskguard_disk import seed_site; seed_site({port})"], env=env,
                       cwd=settings.BASE_DIR, check=True, timeout=120)
        site = Site(disk, tmp_path / "worker.log", env)
        with open(site.log, "wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "solarmon", "worker", "--beat", "--pool", "threads",
                 "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
                env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
            try:
                yield site, worker
            finally:
                worker.terminate()
                worker.wait(30)
                sim.stop()


def test_a_filling_disk_is_pruned_early_survives_full_and_resumes_with_every_row_intact(
        site: tuple[Site, subprocess.Popen[bytes]]) -> None:
    s, worker = site
    history = s.count()
    assert history == 1440 * len(HISTORY_DAYS)
    rollups = s.query(ROLLUPS)
    wait_for("live polls", lambda: s.count() > history + 3, worker, s)

    # Below the threshold: the oldest days go, the newest history stays, polling goes on.
    fill(s.disk, leave_bytes=(THRESHOLD_MB * 1024 - 400) * 1024)
    # Pruning cuts at the bound of a 5-minute slot, so up to 5 minutes more of a day may stay.
    oldest_rows = f"ts < datetime('now', '-{max(HISTORY_DAYS)} days', '-5 minutes')"
    assert s.count(oldest_rows) > 0
    wait_for("early pruning", lambda: s.count(oldest_rows) == 0, worker, s)
    newest_history_day = f"date('now', '-{min(HISTORY_DAYS)} days')"
    status = s.status()
    assert status.alert and status.early_keep_days is not None, status.message
    assert "pruned early" in status.message
    assert s.count(f"date(ts) = {newest_history_day}") == 1440, "pruned more than needed"
    polled = s.count("ts > datetime('now', '-1 day')")
    wait_for("polls while low", lambda: s.count("ts > datetime('now', '-1 day')") > polled + 2, worker, s)

    # Full: nothing is written, nothing crashes, and it is logged once, not per poll.
    committed = set(s.query("SELECT ts, inverter_id FROM energy_samples"))
    full_since = s.count()
    for _ in range(30):  # whatever SQLite or the guard frees, something else takes at once
        fill(s.disk)
        time.sleep(0.2)
    assert worker.poll() is None, s.output()[-4000:]
    status = s.status()
    assert status.level == "full" and "writing resumes by itself" in status.message
    assert s.count() <= full_since + 3, "the disk was not full"  # a poll a second otherwise
    output = s.output()
    assert 1 <= output.count("writes fail: the disk is full") <= 4, output[-4000:]
    assert "Message Error" not in output and "raised unexpected" not in output, output[-4000:]
    assert "Unrecoverable error" not in output

    # Space is back: writing resumes by itself.
    free_space(s.disk)
    during = s.count()
    wait_for("writes to resume", lambda: s.count() > during + 2, worker, s)
    wait_for("the resume to be logged", lambda: "writes resumed" in s.output(), worker, s)
    worker.terminate()
    worker.wait(30)

    assert s.query("PRAGMA integrity_check") == [("ok",)]
    # Rows older than the guard's floor (2 days) may have been pruned early; nothing newer is gone.
    floor = f"{datetime.now(UTC) - timedelta(days=2):%Y-%m-%d %H:%M:%S}"
    lost = {row for row in committed - set(s.query("SELECT ts, inverter_id FROM energy_samples"))
            if row[0] >= floor}
    assert not lost, f"{len(lost)} committed rows of the last two days are gone"
    assert set(rollups) <= set(s.query(ROLLUPS)), "history's rollups changed or went"
