"""Which physical bus an adapter uses, and a cross-process lock per bus.

Two devices on one RS485 line (one serial port, or one transparent TCP gateway) must never
be polled at once: their replies would collide. Serial ports are attached to one machine,
so a file lock in the data directory serializes every worker process on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings

from adapters.errors import TransportError


def bus_key(adapter_type: str, config: Mapping[str, Any]) -> str:
    """A name for the bus an adapter talks on: the serial port, the gateway, or the BLE radio."""
    if config.get("bt_addresses"):
        return "ble:" + ",".join(sorted(config["bt_addresses"]))
    transport = config.get("transport")
    if config.get("host") and (transport in ("tcp", "rtu_over_tcp") or not config.get("serial_port")):
        return f"tcp:{config['host']}:{config.get('port', '')}"
    return f"serial:{config.get('serial_port', '')}"


def _lock_path(key: str) -> Path:
    folder = Path(settings.DATA_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".lock")


@contextlib.contextmanager
def bus_locks(keys: list[str], timeout_s: float = 30.0) -> Iterator[None]:
    """Hold the locks of every bus in ``keys`` (taken in sorted order, so no deadlock)."""
    handles = []
    try:
        for key in sorted(set(keys)):
            handle = open(_lock_path(key), "a+")
            handles.append(handle)
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TransportError(f"bus {key} stayed busy for {timeout_s:.0f} s") from None
                    time.sleep(0.05)
        yield
    finally:
        for handle in handles:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
