"""What one discovery run did, port by port: printed by ``discover --once``, returned by the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What discovery did about a port or a device."""

    CREATED = "created"
    PENDING = "pending approval"
    ADOPTED = "adopted"
    REBOUND = "rebound"
    VERIFIED = "verified"
    IN_USE = "skipped in use"
    BUSY = "skipped busy"
    BACKOFF = "skipped backoff"
    SILENT = "silent"
    GARBAGE = "garbage"
    UNRECOGNIZED = "unrecognized"
    REJECTED = "rejected"
    DISABLED = "disabled"
    MISSING = "missing"
    NOT_PROBED = "not probed"


@dataclass
class ReportLine:
    """One row of the report table."""

    port: str
    answered: str = "-"
    device_id: str = "-"
    serial_number: str = "-"
    action: str = ""
    detail: str = ""


@dataclass
class DiscoveryReport:
    """Every port's line, then a line per missing known device."""

    started_at: datetime
    lines: list[ReportLine] = field(default_factory=list)
    skipped_reason: str = ""

    HEADER = ("port", "answered", "device", "serial number", "action")

    def rows(self) -> list[tuple[str, ...]]:
        return [(ln.port, ln.answered, ln.device_id, ln.serial_number,
                 ln.action + (f" ({ln.detail})" if ln.detail else "")) for ln in self.lines]

    def table(self) -> str:
        """The report as an aligned text table."""
        rows = [self.HEADER, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADER) - 1)]
        return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]])
                         for r in rows)

    def as_dict(self) -> dict[str, Any]:
        return {"started_at": self.started_at.isoformat(), "skipped_reason": self.skipped_reason,
                "lines": [asdict(line) for line in self.lines]}

    def count(self, action: Action) -> int:
        return sum(1 for line in self.lines if line.action == action)
