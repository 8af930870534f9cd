"""/api/health/: what a monitor polling it learns, and what an anonymous visitor does not."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from solarmon.health import BEAT, WORKER, beat
from solarmon.models import Heartbeat

pytestmark = pytest.mark.django_db


def _alive() -> None:
    beat(WORKER)
    beat(BEAT)


def test_health_is_ok_when_database_worker_beat_and_disk_are(client: Client) -> None:
    _alive()
    response = client.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "worker": "ok", "beat": "ok",
                                                          "disk": "ok"}, "storage": "ok"}


def test_a_stopped_beat_makes_health_fail_and_names_only_the_part(client: Client) -> None:
    _alive()
    Heartbeat.objects.filter(name=BEAT).update(at=timezone.now() - timedelta(minutes=10))
    response = client.get("/api/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["beat"] == "failing" and body["checks"]["worker"] == "ok"
    # The disk guard's level (ok, low, full), and no ages, paths or error texts for anonymous visitors.
    assert set(body) == {"status", "checks", "storage"} and body["storage"] in ("ok", "low", "full")


def test_a_worker_that_never_ran_is_failing(client: Client) -> None:
    beat(BEAT)
    assert client.get("/api/health/").json()["checks"]["worker"] == "failing"


def test_a_nearly_full_disk_makes_health_fail(client: Client, settings: object) -> None:
    _alive()
    settings.SOLARMON_HEALTH_MIN_FREE_MB = 10**9  # type: ignore[attr-defined]
    response = client.get("/api/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["disk"] == "failing"


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(30)
def test_a_locked_sqlite_database_is_reported_not_writable(client: Client) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's file lock")
    _alive()
    holder = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing (or stuck) holds the lock
    try:
        response = client.get("/api/health/")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "failing"
    assert client.get("/api/health/").status_code == 200  # and ok again once it is free
