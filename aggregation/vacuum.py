"""Handing the space that pruning frees back to the file system.

SQLite keeps deleted pages in the database file for reuse. A database created by solarmon uses
incremental auto-vacuum (solarmon/settings.py), so ``PRAGMA incremental_vacuum`` truncates the
file after a prune. A database created before that has auto-vacuum off; it is converted once,
with a full ``VACUUM``, when the disk has room for the copy that VACUUM writes (twice the
database); until then freed pages are reused by new rows and the file stops growing.
PostgreSQL's own autovacuum makes freed space reusable; nothing to do there.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from django.db import connection

log = logging.getLogger(__name__)

INCREMENTAL = 2


def _pragma(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return int(cursor.fetchone()[0])


def reclaim_space() -> int:
    """Give freed pages back to the file system; returns the bytes released (0 on PostgreSQL)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return 0
    page, free = _pragma("page_size"), _pragma("freelist_count")
    if not free:
        return 0
    if _pragma("auto_vacuum") != INCREMENTAL and not _convert():
        return 0
    with connection.cursor() as cursor:
        # Run as a script: through execute() the pragma frees one page per call.
        cursor.executescript("PRAGMA incremental_vacuum;")
    released = (free - _pragma("freelist_count")) * page
    log.info("returned %.1f MB to the file system", released / 1e6)
    return released


def _convert() -> bool:
    """Switch an older database to incremental auto-vacuum if the disk has room for VACUUM's copy."""
    path = Path(connection.settings_dict["NAME"])
    size = _pragma("page_count") * _pragma("page_size")
    if not path.exists() or shutil.disk_usage(path.parent).free < 2 * size:
        log.warning("database has auto-vacuum off and the disk has no room to convert it; freed pages "
                    "stay in the file and are reused")
        return False
    log.info("converting the database to incremental auto-vacuum (a one-time VACUUM of %.0f MB)", size / 1e6)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA auto_vacuum = INCREMENTAL")
        cursor.execute("VACUUM")
    return _pragma("auto_vacuum") == INCREMENTAL
