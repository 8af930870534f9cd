"""Free space on the disk that holds solarmon's data, as the disk guard counts it.

The alert and the guard read one measure (``aggregation.diskguard.measure_volume``): free
space on the filesystem plus the free pages inside the SQLite file, which new rows fill
before the file grows. So the alert never says "low" while the guard sees room, nor the
other way round, and the guard's threshold is known here to keep the two in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregation.diskguard import Level, level_of, measure_volume, threshold_bytes


@dataclass(frozen=True)
class DiskSpace:
    """The data disk: its size, the space available to solarmon, and what the guard keeps free."""

    path: str
    total: int
    free: int  # free on the filesystem plus reusable SQLite pages
    guard_threshold: int  # bytes the disk guard keeps free (it prunes early below this)
    guard_level: str  # ok, low or full (aggregation.diskguard.Level)

    @property
    def free_pct(self) -> float:
        return 100.0 * self.free / self.total if self.total else 0.0

    @property
    def guard_threshold_pct(self) -> float:
        return 100.0 * self.guard_threshold / self.total if self.total else 0.0

    @property
    def guard_short(self) -> bool:
        """Whether the guard is below its threshold (pruning early, or unable to)."""
        return self.guard_level != Level.OK


def data_disk_space() -> DiskSpace:
    """The disk of ``SOLARMON_DATA_DIR`` now (one statvfs and, on SQLite, two pragmas)."""
    volume = measure_volume()
    return DiskSpace(volume.path, volume.total_bytes, volume.available_bytes,
                     threshold_bytes(volume.total_bytes), level_of(volume))
