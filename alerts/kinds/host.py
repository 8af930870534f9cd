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

MB = 2**20


@register
class DiskSpaceLow(RuleKind):
    """Free space of the data directory's disk below ``low`` (% of the disk), counted as the disk
    guard counts it (SQLite's free pages are free). The limit is never below the guard's own
    threshold: while the guard is short of free space (it prunes raw samples early), the alert
    holds whatever ``low`` says. The default ``low`` lies above the guard's share of the disk
    (SOLARMON_ALERT_DISK_FREE_BELOW_PCT > SOLARMON_DISK_MIN_FREE_PCT), so the owner hears of a
    filling disk before anything is pruned."""

    kind = "disk_space_low"
    label = "Disk space low"
    help = ("Free space on the disk holding SOLARMON_DATA_DIR below “low”, in % of the disk (free pages "
            "inside the SQLite database count as free), or below what the disk guard keeps free.")
    unit = "%"
    triggers = frozenset({Trigger.PERIODIC})
    requires = frozenset({"low"})
    clears_unseen = True
    subject_type = SubjectType.HOST

    def scan(self, rule: AlertRule, now: datetime) -> Iterable[Finding]:
        if rule.low is None:
            return
        space = disk.data_disk_space()
        limit = max(rule.low, space.guard_threshold_pct)
        bad, clear = below(space.free_pct, limit, rule.hysteresis)
        yield Finding(SubjectType.HOST, socket.gethostname(), None, Observation(
            bad or space.guard_short, clear and not space.guard_short, {
                "free_pct": round(space.free_pct, 1), "free_mb": space.free // MB,
                "total_mb": space.total // MB, "guard_keeps_mb": space.guard_threshold // MB,
                "guard": space.guard_level, "path": space.path}))

    def covers(self, subject_id: str) -> bool:
        # With several collectors the periodic task runs on any of their hosts, each seeing only
        # its own disk: another host's alert is left to that host's next look.
        return subject_id == socket.gethostname()

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        if raised:
            free = f"{values.get('free_mb')} MB ({values.get('free_pct')} %)"
            line = f"Disk space low on {subject}: {free} free"
            if values.get("guard") not in (None, "ok"):
                line += "; the disk guard prunes raw samples early"
            return line
        return f"Disk space back to normal on {subject}"
