"""``manage.py storage`` and the admin's Storage page: sizes, rows, growth, retention, days until full."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from aggregation.storage_report import days_until, storage_report
from telemetry import models as t
from tests import factories as f

DAY = 24 * 60


def three_days_of_minutes() -> None:
    """An inverter sample every minute for the last three days: 1440 of them in the last day."""
    sys = f.system("system", timezone="UTC")
    inv = f.inverter("inv1", f.array("a1", sys))
    now = timezone.now()
    t.EnergySample.objects.bulk_create(
        [t.EnergySample(ts=now - timedelta(minutes=m), inverter=inv, array_id="a1", system=sys, pv_power_w=m)
         for m in range(3 * DAY)], batch_size=1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE energy_samples")  # the row estimate the report shows


def storage_json() -> dict[str, Any]:
    out = StringIO()
    call_command("storage", "--json", stdout=out)
    return dict(json.loads(out.getvalue()))


@pytest.mark.django_db
def test_the_report_gives_rows_size_and_growth_of_each_table() -> None:
    three_days_of_minutes()
    report = storage_json()
    energy = next(row for row in report["tables"] if row["table"] == "energy_samples")
    assert energy["rows"] == 3 * DAY
    assert energy["rows_per_day"] == pytest.approx(DAY, rel=0.01)
    assert 0 < energy["bytes_per_day"] < energy["bytes"]
    assert energy["kept_by"] == "SOLARMON_RAW_RETENTION_DAYS" and energy["kept_days"] == 14  # the default
    assert energy["window_days_left"] == pytest.approx(11, abs=0.1)
    assert report["growth"]["measured_hours"] == pytest.approx(24)
    assert report["retention_settings"]["SOLARMON_RAW_RETENTION_DAYS"] == 14
    assert "SOLARMON_DISK_MIN_FREE_MB" in report["retention_settings"]
    assert "SOLARMON_ALERT_DISK_FREE_BELOW_PCT" in report["retention_settings"]  # beside the guard's
    assert "SOLARMON_MQTT_KEEPALIVE_S" not in report["retention_settings"]
    assert report["disk"]["level"] in ("ok", "low", "full")
    assert report["database"]["bytes"] >= sum(row["bytes"] or 0 for row in report["tables"]) * 0.9


@pytest.mark.django_db
def test_the_printed_report_names_tables_settings_free_space_and_the_outlook() -> None:
    three_days_of_minutes()
    out = StringIO()
    call_command("storage", stdout=out)
    text = out.getvalue()
    line = next(row for row in text.splitlines() if row.startswith("energy_samples"))
    assert f"{3 * DAY:,}" in line and "14 days (SOLARMON_RAW_RETENTION_DAYS)" in line
    assert "Retention, tiers and the disk guard:" in text
    assert "SOLARMON_DISK_MIN_FREE_PCT" in text
    assert "free of" in text and "the disk guard keeps" in text
    assert "At the current rate" in text or "not on the data disk" in text


@pytest.mark.django_db
def test_sqlite_rows_from_dbstat_match_a_count_for_rowid_and_without_rowid_tables() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("dbstat is SQLite's")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE scratch_rowid (a INTEGER, b TEXT)")
        cursor.execute("CREATE TABLE scratch_keyed (a INTEGER PRIMARY KEY, b TEXT) WITHOUT ROWID")
        for table in ("scratch_rowid", "scratch_keyed"):
            cursor.executemany(f"INSERT INTO {table} VALUES (%s, %s)", [(i, "x" * 40) for i in range(5000)])
    tables = {row.table: row for row in storage_report().tables}
    assert tables["scratch_rowid"].rows == 5000
    assert tables["scratch_keyed"].rows == 5000  # an index b-tree: its inner pages hold rows too
    assert (tables["scratch_keyed"].size_bytes or 0) > 5000 * 40


def test_days_until_full_counts_windows_that_stop_growing() -> None:
    assert days_until(100, forever_rate=10, windows=[]) == pytest.approx(10)
    # Raw samples grow 10 a day for 5 more days (then old ones go as new ones come), rollups 5.
    assert days_until(100, forever_rate=5, windows=[(10, 5)]) == pytest.approx(10)
    assert days_until(100, forever_rate=0, windows=[(10, 5)]) is None  # it levels off at 50
    assert days_until(0, forever_rate=1, windows=[]) == 0


@pytest.mark.django_db
def test_the_admin_storage_page_is_for_staff_and_linked_from_the_admin_index() -> None:
    three_days_of_minutes()
    staff = Client()
    staff.force_login(User.objects.create_user("staff", is_staff=True, is_superuser=True))
    page = staff.get("/admin/storage/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "energy_samples" in body and "SOLARMON_RAW_RETENTION_DAYS" in body and "Data disk" in body
    assert 'href="/admin/storage/"' in staff.get("/admin/").content.decode()
    reader = Client()
    reader.force_login(User.objects.create_user("reader"))
    assert reader.get("/admin/storage/").status_code == 302
    assert Client().get("/admin/storage/").status_code == 302
