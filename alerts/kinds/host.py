"""Host rules: free disk space low where the data lives."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from alerts import disk
from alerts.choices import SubjectType, Trigger
from alerts.kinds import register
from alerts.kinds.base import Finding, Observation, RuleKind, below

if TYPE_CHECKING:
    from alerts.models import AlertRule


@register
class DiskSpaceLow(RuleKind):
    """Free space of the data directory's disk below ``low`` (% of the disk)."""

    kind = "disk_space_low"
    label = "Disk space low"
    help = "Free space on the disk holding SOLARMON_DATA_DIR below “low”, in % of the disk."
    unit = "%"
    triggers = frozenset({Trigger.PERIODIC})
    requires = frozenset({"low"})
    clears_unseen = True

    def scan(self, rule: AlertRule, now: datetime) -> Iterable[Finding]:
        if rule.low is None:
            return
        space = disk.data_disk_space()
        bad, clear = below(space.free_pct, rule.low, rule.hysteresis)
        yield Finding(SubjectType.HOST, socket.gethostname(), None, Observation(bad, clear, {
            "free_pct": round(space.free_pct, 1), "free_mb": space.free // 2**20,
            "total_mb": space.total // 2**20, "path": space.path}))

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        if raised:
            free = f"{values.get('free_mb')} MB ({values.get('free_pct')} %)"
            return f"Disk space low on {subject}: {free} free"
        return f"Disk space back to normal on {subject}"
