"""The storage status users see: the data disk now, and what the disk guard did.

Cheap enough for every page (one statvfs, two SQLite pragmas and a small file read): the
dashboard banner, the admin banner, ``/api/storage/`` and the storage level in
``/api/health/`` all read :func:`storage_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from aggregation.diskguard import (
    EARLY_PRUNE_NOTICE,
    GuardRecord,
    Level,
    Volume,
    human_size,
    level_of,
    measure_volume,
    read_record,
    threshold_bytes,
)


@dataclass(frozen=True)
class StorageStatus:
    """The data disk's level (ok, low, full), its numbers, and the guard's last actions."""

    level: str
    volume: Volume
    threshold_bytes: int
    record: GuardRecord
    now: datetime

    @property
    def early_keep_days(self) -> int | None:
        """Days of raw samples kept since the guard last pruned early (recently), else None."""
        pruned_at = self.pruned_at
        if pruned_at is None or self.now - pruned_at > EARLY_PRUNE_NOTICE:
            return None
        return self.record.keep_days

    @property
    def pruned_at(self) -> datetime | None:
        return datetime.fromisoformat(self.record.pruned_at) if self.record.pruned_at else None

    @property
    def exhausted(self) -> bool:
        return self.level != Level.OK and self.record.exhausted

    @property
    def alert(self) -> bool:
        """Whether the dashboard and the admin show a banner."""
        return self.level != Level.OK or self.early_keep_days is not None

    @property
    def message(self) -> str:
        problem = f"{self.record.problem.capitalize()}." if self.record.problem else ""
        parts = (self._level_sentence(), problem if self.level != Level.OK else "", self._pruned_sentence())
        return " ".join(part for part in parts if part)

    def _level_sentence(self) -> str:
        where = f"{human_size(self.volume.available_bytes)} free on {self.volume.path}"
        if self.level == Level.FULL:
            free = human_size(self.volume.free_bytes)
            return (f"The data disk is full ({free} free on {self.volume.path}): new samples are not "
                    "stored. Polling goes on, and writing resumes by itself as soon as space is freed.")
        if self.level == Level.OK:
            return ""
        low = f"Disk space is low: {where}, below the {human_size(self.threshold_bytes)} kept free."
        if not self.volume.holds_database:
            return f"{low} The database is on another disk, so pruning cannot make room here."
        if self.exhausted:
            return (f"{low} Nothing more may be pruned: rollups and the last "
                    f"{settings.SOLARMON_DISK_GUARD_MIN_RAW_DAYS} days of raw samples are kept. "
                    "Free space on the disk, or lower SOLARMON_RAW_RETENTION_DAYS.")
        return f"{low} The disk guard prunes the oldest raw samples early; rollups are kept."

    def _pruned_sentence(self) -> str:
        keep, pruned_at = self.early_keep_days, self.pruned_at
        if keep is None or pruned_at is None:
            return ""
        when = timezone.localtime(pruned_at).strftime("%Y-%m-%d %H:%M %Z")
        return (f"To keep free space, raw samples older than {keep} days were pruned early at {when} "
                f"(retention: {settings.SOLARMON_RAW_RETENTION_DAYS} days); hourly and daily rollups "
                "are kept.")

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level, "alert": self.alert, "message": self.message, "path": self.volume.path,
            "total_bytes": self.volume.total_bytes, "free_bytes": self.volume.free_bytes,
            "reusable_bytes": self.volume.reusable_bytes, "available_bytes": self.volume.available_bytes,
            "threshold_bytes": self.threshold_bytes, "holds_database": self.volume.holds_database,
            "retention_days": settings.SOLARMON_RAW_RETENTION_DAYS, "early_keep_days": self.early_keep_days,
            "pruned_at": self.pruned_at, "exhausted": self.exhausted,
            "checked_at": datetime.fromisoformat(self.record.checked_at) if self.record.checked_at else None,
        }


def storage_status(now: datetime | None = None) -> StorageStatus:
    """The data disk now, with the guard's record."""
    volume = measure_volume()
    return StorageStatus(level=level_of(volume), volume=volume, threshold_bytes=threshold_bytes(
        volume.total_bytes), record=read_record(), now=now or timezone.now())
