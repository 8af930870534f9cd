"""What /api/health/ checks: the parts a working installation needs, each ok or failing.

The answer names the parts only. Error texts, paths and sizes stay in the log, since the
endpoint is open to anonymous visitors.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from solarmon.models import Heartbeat

log = logging.getLogger(__name__)

WORKER, BEAT, WEB = "worker", "beat", "web"
DB_WAIT_MS = 2000


def beat(name: str) -> None:
    """Record that ``name`` is alive now."""
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now()})


def database_writable() -> bool:
    """A real write, committed: a locked SQLite file or a read-only database fails it.

    Waits at most ``DB_WAIT_MS`` for the write lock, not the busy timeout polls wait for, so a
    locked database is reported while the monitor asking is still waiting for an answer.
    """
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        connection.ensure_connection()
        connection.connection.execute(f"PRAGMA busy_timeout = {DB_WAIT_MS}")
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {DB_WAIT_MS}")
                    cursor.execute(f"SET LOCAL statement_timeout = {DB_WAIT_MS}")
            beat(WEB)
    finally:
        if sqlite and connection.connection is not None:
            connection.connection.execute(f"PRAGMA busy_timeout = {settings.SOLARMON_SQLITE_TIMEOUT * 1000}")
    return True


def heartbeat_fresh(name: str) -> bool:
    at = Heartbeat.objects.filter(name=name).values_list("at", flat=True).first()
    max_age = timedelta(seconds=settings.SOLARMON_HEARTBEAT_MAX_AGE_S)
    return at is not None and timezone.now() - at <= max_age


def disk_has_room() -> bool:
    free_mb = shutil.disk_usage(settings.DATA_DIR).free / 2**20
    return free_mb >= settings.SOLARMON_HEALTH_MIN_FREE_MB


CHECKS: dict[str, Callable[[], bool]] = {
    "database": database_writable,
    "worker": lambda: heartbeat_fresh(WORKER),
    "beat": lambda: heartbeat_fresh(BEAT),
    "disk": disk_has_room,
}


def run_checks() -> dict[str, bool]:
    """Every check's outcome; a check that raises is failing (and logged)."""
    results: dict[str, bool] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = bool(check())
        except Exception:  # a health check must answer whatever broke
            log.exception("health check %s failed", name)
            results[name] = False
        if not results[name] and name == "database":
            # Without a database the heartbeats cannot be read either.
            return {**results, **{other: False for other in CHECKS if other not in results}}
    return results
