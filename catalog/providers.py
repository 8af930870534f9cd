"""What the catalog's admin and API show from the apps above it, without importing them.

Imports point down (ARCHITECTURE.md): telemetry and discovery import the catalog, never the
reverse. So device status, "test connection" and "poll now" are functions that
``solarmon.apps`` plugs in at start-up; until then they report nothing is available.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DeviceStatusView:
    """A device's polling state as the admin shows it."""

    state: str  # online | stale | offline | unknown
    last_seen: datetime | None = None
    last_error: str = ""
    active_adapter_id: str = ""


@dataclass(frozen=True)
class ConnectionResult:
    """What a connection test found: the identity and reading, or the one-line error."""

    ok: bool
    adapter_type: str
    identity: dict[str, Any] = field(default_factory=dict)
    kind: str = ""
    reading: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    duration_ms: int = 0


# (device kind, ids) → id → status. Kinds are telemetry's: inverter, meter, battery_pack.
StatusSource = Callable[[str, list[str]], Mapping[str, DeviceStatusView]]
ConnectionTester = Callable[[str, Mapping[str, Any]], ConnectionResult]
PollRequester = Callable[[str, list[str]], int]


def _no_status(kind: str, ids: list[str]) -> Mapping[str, DeviceStatusView]:
    return {}


def _no_tester(adapter_type: str, config: Mapping[str, Any]) -> ConnectionResult:
    return ConnectionResult(False, adapter_type, error="connection tests are not available")


def _no_poll(kind: str, ids: list[str]) -> int:
    return 0


@dataclass
class Providers:
    device_status: StatusSource = _no_status
    test_connection: ConnectionTester = _no_tester
    poll_now: PollRequester = _no_poll


PROVIDERS = Providers()
