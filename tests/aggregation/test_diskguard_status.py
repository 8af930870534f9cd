"""Where users see the data disk's state: the dashboard banner, the admin (Device statuses and
every other page), /api/storage/ and the storage level in /api/health/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from aggregation.diskguard import RECORD_NAME
from solarmon.health import BEAT, WORKER, beat
from tests import factories as f
from tests.aggregation.smalldisk import fill, small_disk

pytestmark = pytest.mark.django_db

# With the whole disk to be kept free, any disk is low; with nothing, none is.
LOW = {"SOLARMON_DISK_MIN_FREE_PCT": 100.0, "SOLARMON_DISK_MIN_FREE_MB": 10**9}
ROOMY = {"SOLARMON_DISK_MIN_FREE_PCT": 0.0}


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    with override_settings(DATA_DIR=tmp_path):
        yield tmp_path


@pytest.fixture
def staff(data_dir: Path) -> Client:
    f.system("system")
    beat(WORKER)  # the worker and beat are running: only the disk is in question here
    beat(BEAT)
    client = Client()
    client.force_login(User.objects.create_user("staff", is_staff=True, is_superuser=True))
    return client


def test_a_low_disk_shows_on_the_dashboard_the_admin_and_the_api(staff: Client) -> None:
    with override_settings(**LOW):
        dashboard = staff.get("/").content.decode()
        devices = staff.get("/admin/telemetry/devicestatus/").content.decode()
        api = staff.get("/api/storage/").json()
        health = Client().get("/api/health/").json()
    assert 'id="storage-banner"' in dashboard and "Disk space is low" in dashboard
    assert 'id="storage-banner"' in devices and "Disk space is low" in devices
    assert api["level"] == "low" and api["alert"] and api["message"].startswith("Disk space is low")
    assert api["threshold_bytes"] == api["total_bytes"]
    assert (health["status"], health["storage"]) == ("ok", "low")  # low, not failing: polling goes on


def test_a_disk_with_room_shows_no_banner(staff: Client) -> None:
    with override_settings(**ROOMY):
        assert 'id="storage-banner"' not in staff.get("/").content.decode()
        assert 'id="storage-banner"' not in staff.get("/admin/").content.decode()
        assert staff.get("/api/storage/").json()["alert"] is False
        health = Client().get("/api/health/").json()
        assert (health["status"], health["storage"]) == ("ok", "ok")


def test_early_pruning_stays_on_the_dashboard_for_a_day_after_the_disk_has_room(staff: Client, data_dir: Path
                                                                               ) -> None:
    pruned_at = timezone.now() - timedelta(hours=3)
    (data_dir / RECORD_NAME).write_text(json.dumps({"level": "ok", "pruned_at": pruned_at.isoformat(),
                                                    "keep_days": 12, "pruned_rows": {"energy_samples": 10}}))
    with override_settings(**ROOMY):
        dashboard = staff.get("/").content.decode()
        assert "raw samples older than 12 days were pruned early" in dashboard
        assert staff.get("/api/storage/").json()["early_keep_days"] == 12
        (data_dir / RECORD_NAME).write_text(json.dumps({"level": "ok", "keep_days": 12, "pruned_at": (
            pruned_at - timedelta(days=1)).isoformat()}))
        assert 'id="storage-banner"' not in staff.get("/").content.decode()


def test_a_full_disk_says_that_writing_resumes_by_itself(staff: Client, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk, override_settings(DATA_DIR=disk, **ROOMY):
        fill(disk)
        dashboard = staff.get("/").content.decode()
        api = staff.get("/api/storage/").json()
    assert "The data disk is full" in dashboard and "writing resumes by itself" in dashboard
    assert api["level"] == "full" and not api["holds_database"]


def test_the_storage_status_needs_a_login(data_dir: Path) -> None:
    assert Client().get("/api/storage/").status_code in (401, 403)
