"""The disk-space rule on a real small disk, against the disk guard's own measure and threshold.

The data directory is a tmpfs of 20 MB mounted by the test (needs root; see
tests/aggregation/smalldisk.py). The guard keeps 10 % free (2 MB); the rule warns below 15 %.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregation.storage_status import storage_status
from alerts.evaluation import evaluate_periodic
from alerts.models import Alert
from tests.aggregation.smalldisk import fill, free_space, small_disk
from tests.alerts.conftest import rule

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def disk(tmp_path: Path, settings: Any) -> Iterator[Path]:
    with small_disk(tmp_path / "data", "20m") as path:
        settings.DATA_DIR = path
        settings.SOLARMON_DISK_MIN_FREE_PCT = 10.0
        settings.SOLARMON_DISK_MIN_FREE_MB = 1024
        yield path
        free_space(path)


def active() -> list[Alert]:
    return list(Alert.objects.filter(rule__key="disk-space", state="active"))


def test_the_disk_alert_warns_before_the_disk_guard_prunes_and_clears_when_space_is_back(disk: Path) -> None:
    rule("disk-space", low=15.0, hysteresis=2.0, raise_after_s=0, clear_after_s=0)
    fill(disk, leave_bytes=int(2.5 * MB))  # 12.5 %: below the alert's 15 %, above the guard's 10 %
    evaluate_periodic()
    status = storage_status()
    assert status.level == "ok"  # the guard is not pruning yet ...
    [alert] = active()  # ... but the owner already knows
    assert alert.values["free_mb"] == status.volume.available_bytes // MB  # the guard's own measure
    assert alert.values["guard_keeps_mb"] == status.threshold_bytes // MB == 2
    assert "prunes" not in alert.title

    free_space(disk)
    evaluate_periodic()
    alert.refresh_from_db()
    assert alert.state == "cleared" and alert.headline().startswith("Disk space back to normal")


def test_a_limit_set_below_the_guard_still_raises_while_the_guard_is_short_of_space(disk: Path) -> None:
    rule("disk-space", low=1.0, hysteresis=0.0, raise_after_s=0, clear_after_s=0)
    fill(disk, leave_bytes=int(1.5 * MB))  # 7.5 %: above the rule's 1 %, below the guard's 2 MB
    evaluate_periodic()
    assert storage_status().level == "low"
    [alert] = active()
    assert alert.values["guard"] == "low" and alert.title.endswith("the disk guard prunes raw samples early")


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    environ.update({"SOLARMON_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 50, **env})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.timeout(120)
def test_the_alert_limit_follows_the_guard_and_one_at_or_below_the_guard_is_refused(tmp_path: Path) -> None:
    shown = _manage(tmp_path, "shell", "-c", "from django.conf import settings as s; "
                    "print(s.SOLARMON_ALERT_DISK_FREE_BELOW_PCT)", SOLARMON_DISK_MIN_FREE_PCT="20")
    assert shown.stdout.strip().splitlines()[-1] == "25.0", shown.stderr
    refused = _manage(tmp_path, "check", SOLARMON_ALERT_DISK_FREE_BELOW_PCT="10")
    assert refused.returncode != 0
    assert ("SOLARMON_ALERT_DISK_FREE_BELOW_PCT=10 must be above SOLARMON_DISK_MIN_FREE_PCT=10"
            in refused.stderr)


def test_a_look_at_this_hosts_disk_leaves_another_hosts_alert_alone() -> None:
    from django.utils import timezone

    from alerts.kinds.base import Finding, Observation
    from alerts.services import alert_raise

    disk_rule = rule("disk-space", low=0.001, hysteresis=0.0, raise_after_s=0, clear_after_s=0)
    other = alert_raise(disk_rule, Finding("host", "pi-garage", None, Observation(True, False, {
        "free_pct": 3.0})), timezone.now(), None)
    assert other is not None
    evaluate_periodic()  # this host has room; pi-garage's disk is not visible from here
    other.refresh_from_db()
    assert other.state == "active"
    assert not Alert.objects.exclude(pk=other.pk).filter(state="active").exists()
