"""Telemetry's answers to the catalog's admin and API (plugged in by ``solarmon.apps``).

``test_connection`` is ``read_device`` (identify, then one read) run under the bus lock, so
it never talks over a poll of the same line, and bounded in time as a whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils import timezone

from adapters.errors import AdapterError
from adapters.registry import config_with_defaults, get_type, validate_config
from adapters.tools import describe_target, read_device
from catalog.providers import ConnectionResult, DeviceStatusView
from telemetry.buses import BusBusy, bus_key, bus_locks
from telemetry.models import DeviceStatus
from telemetry.status import effective_state


def device_status(kind: str, ids: list[str]) -> dict[str, DeviceStatusView]:
    """Each device's state now (aged from its last good reading), in one query."""
    now = timezone.now()
    return {s.device_id: DeviceStatusView(effective_state(s, now), s.last_seen,
                                          s.last_error if s.consecutive_failures else "",
                                          s.active_adapter_id)
            for s in DeviceStatus.objects.filter(device_type=kind, device_id__in=ids)}


def poll_now(kind: str, ids: list[str]) -> int:
    """Make the devices due at once: the next dispatch (within seconds) polls them."""
    return DeviceStatus.objects.filter(device_type=kind, device_id__in=ids).update(
        next_poll_at=timezone.now())


def _read_under_lock(adapter_type: str, config: Mapping[str, Any], result: dict[str, Any]) -> None:
    try:
        # A serial port is a bus of this host: the connection test runs where the port is.
        key = bus_key(adapter_type, config_with_defaults(adapter_type, config), settings.SOLARMON_COLLECTOR)
        with bus_locks([key], wait_s=settings.SOLARMON_TEST_CONNECTION_TIMEOUT_S):
            result["value"] = read_device(adapter_type, config)
    except AdapterError as exc:
        result["error"] = str(exc)
    except BusBusy as exc:
        result["error"] = f"{describe_target(adapter_type, config)}: {exc}"
    except Exception as exc:  # the admin shows one line, whatever a driver raised
        result["error"] = f"{describe_target(adapter_type, config)}: {type(exc).__name__}: {exc}"


def test_connection(adapter_type: str, config: Mapping[str, Any]) -> ConnectionResult:
    """Identify and read the device ``config`` points at, once; never raises for device trouble."""
    try:
        get_type(adapter_type)
    except AdapterError as exc:
        return ConnectionResult(False, adapter_type, error=str(exc))
    problems = validate_config(adapter_type, config)
    if problems:
        return ConnectionResult(False, adapter_type, error="; ".join(problems))
    limit = settings.SOLARMON_TEST_CONNECTION_TIMEOUT_S
    started = time.monotonic()
    result: dict[str, Any] = {}
    # A thread, so the answer comes within the limit even if a driver waits longer; the
    # thread ends on the driver's own timeouts and then frees the bus.
    worker = threading.Thread(target=_read_under_lock, args=(adapter_type, config, result), daemon=True)
    worker.start()
    worker.join(limit)
    elapsed = int((time.monotonic() - started) * 1000)
    if worker.is_alive():
        return ConnectionResult(False, adapter_type, duration_ms=elapsed, error=(
            f"{describe_target(adapter_type, config)}: no answer within {limit:.0f} s"))
    if "error" in result:
        return ConnectionResult(False, adapter_type, error=result["error"], duration_ms=elapsed)
    value = result["value"]
    identity = {"serial_number": value.get("serial_number"), "model": value.get("model"),
                **(value.get("identity") or {})}
    return ConnectionResult(True, adapter_type, identity=identity, kind=value.get("kind", ""),
                            reading=value.get("reading", {}), duration_ms=elapsed)
