"""Free space on the disk that holds solarmon's data (the database, the broker folder)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class DiskSpace:
    """Total and free bytes of the data directory's file system."""

    path: str
    total: int
    free: int

    @property
    def free_pct(self) -> float:
        return 100.0 * self.free / self.total if self.total else 0.0


def data_disk_space() -> DiskSpace:
    """Free space where ``SOLARMON_DATA_DIR`` lives (one place, so a disk guard can provide it)."""
    usage = shutil.disk_usage(settings.DATA_DIR)
    return DiskSpace(str(settings.DATA_DIR), usage.total, usage.free)
