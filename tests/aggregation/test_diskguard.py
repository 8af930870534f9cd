"""The disk guard's rules: its threshold, what it prunes (oldest first, never rollups, never the
last days), when it stops, what the status says, and how a full disk is recognised and logged.

The guard measures the disk through a probe; here the probe is a disk on which every raw
sample row takes a fixed amount of space, so pruning rows frees it as on a real disk. The
real disk is in test_diskguard_disk.py.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.test import override_settings

from aggregation.diskguard import Volume, guard_disk, level_of, read_record, threshold_bytes
from aggregation.models import SystemDailySummary
from aggregation.retention import SAMPLE_MODELS
from aggregation.rollups import rollup_day
from aggregation.storage_status import StorageStatus
from telemetry import models as t
from telemetry.diskfull import DiskFullEpisode, is_disk_full
from tests import factories as f

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
MB = 1024 * 1024
DISK = 100 * MB  # the guard keeps 10 % free: 10 MB


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The guard's record goes to this test's own data directory."""
    with override_settings(DATA_DIR=tmp_path, SOLARMON_DISK_MIN_FREE_PCT=10.0, SOLARMON_DISK_MIN_FREE_MB=1024,
                           SOLARMON_DISK_GUARD_MIN_RAW_DAYS=2, SOLARMON_RAW_RETENTION_DAYS=90):
        yield tmp_path


def ten_days_of_samples() -> None:
    """An inverter sample every hour for the last ten days, every day rolled up (tiers and rollups)."""
    sys = f.system("system", timezone="UTC")
    inv = f.inverter("inv1", f.array("a1", sys))
    t.EnergySample.objects.bulk_create(
        t.EnergySample(ts=NOW - timedelta(days=d, hours=h), inverter=inv, array_id="a1", system=sys,
                       pv_power_w=100) for d in range(10) for h in range(24))
    for d in range(11):
        # Rolled up as the periodic rollup does: the day's tiers account for its raw samples.
        rollup_day(sys.pk, (NOW - timedelta(days=d)).date())


def disk(row_bytes: int, other_bytes: int = 0, holds_database: bool = True) -> Callable[[], Volume]:
    """A 100 MB disk holding ``other_bytes`` plus ``row_bytes`` for every raw sample row."""
    def probe() -> Volume:
        rows = sum(model._default_manager.count() for model in SAMPLE_MODELS)
        return Volume(path="/data", total_bytes=DISK, free_bytes=DISK - other_bytes - rows * row_bytes,
                      reusable_bytes=0, holds_database=holds_database)
    return probe


def status_on(probe: Callable[[], Volume]) -> StorageStatus:
    volume = probe()
    return StorageStatus(level=level_of(volume), volume=volume, threshold_bytes=threshold_bytes(DISK),
                         record=read_record(), now=NOW)


def test_the_threshold_is_the_smaller_of_the_share_of_the_disk_and_the_amount() -> None:
    assert threshold_bytes(32 * 1024 * MB) == 1024 * MB  # a 32 GB card: 1 GB
    assert threshold_bytes(40 * MB) == 4 * MB  # a small disk: 10 %
    with override_settings(SOLARMON_DISK_MIN_FREE_MB=0):
        assert threshold_bytes(32 * 1024 * MB) == 0  # the guard is off


@pytest.mark.django_db
def test_a_low_disk_loses_the_oldest_samples_first_and_no_more_than_needed() -> None:
    ten_days_of_samples()
    # 240 rows of 400 kB leave 6.25 MB free, below the 10 MB kept free; ten rows fewer clear it,
    # and the oldest rows that may go are the 23 more than nine days old.
    probe = disk(row_bytes=400 * 1024)
    assert probe().free_bytes == DISK - 240 * 400 * 1024 < 10 * MB
    record = guard_disk(now=NOW, probe=probe)
    assert record is not None and record.level == "ok"
    left = t.EnergySample.objects.order_by("ts")
    assert left.count() == 240 - 23
    assert left.first().ts == NOW - timedelta(days=9)  # only what was older than nine days went
    assert SystemDailySummary.objects.count() == 11
    status = status_on(probe)
    assert status.alert and status.early_keep_days == 9
    assert "raw samples older than 9 days were pruned early" in status.message
    assert "retention: 90 days" in status.message


@pytest.mark.django_db
def test_the_guard_keeps_rollups_and_the_last_days_and_says_when_nothing_more_may_go() -> None:
    ten_days_of_samples()
    probe = disk(row_bytes=1, other_bytes=98 * MB)  # pruning cannot help: 2 MB free whatever goes
    record = guard_disk(now=NOW, probe=probe)
    assert record is not None and record.level == "low" and record.exhausted
    assert t.EnergySample.objects.filter(ts__lt=NOW - timedelta(days=2)).count() == 0
    assert t.EnergySample.objects.count() == 2 * 24 + 1  # the last two days (and the sample at 48 h)
    assert SystemDailySummary.objects.count() == 11
    status = status_on(probe)
    assert status.level == "low" and status.exhausted
    assert "Nothing more may be pruned" in status.message
    assert "last 2 days of raw samples are kept" in status.message


@pytest.mark.django_db
def test_a_day_without_rollups_stops_early_pruning_unless_retention_rolls_it_up_first() -> None:
    ten_days_of_samples()
    for d in range(11):  # the periodic rollup has written every day's tiers and rollups
        rollup_day("system", (NOW - timedelta(days=d)).date())
    unrolled = (NOW - timedelta(days=6)).date()
    SystemDailySummary.objects.filter(date=unrolled).delete()
    with override_settings(SOLARMON_RETENTION_BACKFILL_DAYS=0):  # retention may not roll it up
        record = guard_disk(now=NOW, probe=disk(row_bytes=1, other_bytes=98 * MB))
    assert record is not None and record.exhausted
    oldest = t.EnergySample.objects.order_by("ts").first()
    assert oldest is not None and oldest.ts.date() == unrolled
    # By default retention rolls such a day up before its raw samples go: nothing is lost.
    guard_disk(now=NOW, probe=disk(row_bytes=1, other_bytes=98 * MB))
    assert SystemDailySummary.objects.filter(date=unrolled).exists()
    assert not t.EnergySample.objects.filter(ts__date=unrolled).exists()


@pytest.mark.django_db
def test_nothing_is_pruned_when_the_database_is_on_another_disk() -> None:
    ten_days_of_samples()
    probe = disk(row_bytes=1, other_bytes=98 * MB, holds_database=False)
    record = guard_disk(now=NOW, probe=probe)
    assert record is not None and record.level == "low" and not record.exhausted
    assert t.EnergySample.objects.count() == 240
    assert "The database is on another disk" in status_on(probe).message


@pytest.mark.django_db
def test_a_disk_with_room_is_left_alone_and_shows_no_banner() -> None:
    ten_days_of_samples()
    probe = disk(row_bytes=1)
    record = guard_disk(now=NOW, probe=probe)
    assert record is not None and record.level == "ok" and record.pruned_at is None
    assert t.EnergySample.objects.count() == 240
    status = status_on(probe)
    assert not status.alert and status.message == ""


def test_a_full_disk_is_recognised_whatever_layer_reports_it(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "small.sqlite3")
    db.execute("CREATE TABLE t (x TEXT)")
    db.execute("PRAGMA max_page_count = 3")
    with pytest.raises(sqlite3.OperationalError) as sqlite_full:
        db.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,) for _ in range(100)])
    assert is_disk_full(sqlite_full.value)
    assert is_disk_full(psycopg.errors.DiskFull("could not extend file"))
    wrapped = RuntimeError("cannot queue")
    wrapped.__cause__ = OSError(28, "No space left on device")
    assert is_disk_full(wrapped)
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert not is_disk_full(OSError(13, "Permission denied"))


@pytest.mark.django_db
def test_a_full_database_is_recognised_through_django() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's page limit stands in for a full disk; PostgreSQL is covered above")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA max_page_count")
        limit = cursor.fetchone()[0]
        cursor.execute("PRAGMA page_count")
        cursor.execute(f"PRAGMA max_page_count = {cursor.fetchone()[0]}")
        try:
            with pytest.raises(DatabaseError) as full:
                cursor.executemany("INSERT INTO django_session (session_key, session_data, expire_date) "
                                   "VALUES (%s, %s, %s)", [(f"k{i}", "x" * 2000, NOW) for i in range(200)])
        finally:
            cursor.execute(f"PRAGMA max_page_count = {limit}")
    assert is_disk_full(full.value)


def test_a_full_disk_is_logged_once_per_episode(caplog: pytest.LogCaptureFixture) -> None:
    episode = DiskFullEpisode("database")
    caplog.set_level(logging.INFO, logger="telemetry.diskfull")
    for _ in range(30):
        episode.failed(OSError(28, "No space left on device"), "telemetry.tasks.poll_bus")
    episode.succeeded()
    episode.succeeded()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "database writes fail: the disk is full" in messages[0]
    assert "resumed" in messages[1] and "30 writes failed" in messages[1]
    # The disk fills again at once: counted, but not logged again so soon.
    episode.failed(OSError(28, "No space left on device"), "telemetry.tasks.poll_bus")
    episode.succeeded()
    assert len(caplog.records) == 2
