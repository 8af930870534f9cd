"""Plain functions behind the device command-line tools (``read_device``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.errors import AdapterError
from adapters.registry import config_with_defaults, create_driver


def describe_target(adapter_type: str, config: Mapping[str, Any]) -> str:
    """A short human name for the device a config points at, for error messages."""
    merged = config_with_defaults(adapter_type, config) if adapter_type else dict(config)
    transport = merged.get("transport", "")
    if merged.get("bt_addresses"):
        where = "ble " + ",".join(merged["bt_addresses"])
    elif transport in ("tcp", "rtu_over_tcp") or (merged.get("host") and not merged.get("serial_port")):
        where = f"{transport or 'tcp'} {merged.get('host')}:{merged.get('port')}"
    else:
        where = f"{transport or 'serial'} {merged.get('serial_port')}"
    unit = merged.get("unit_id")
    return f"{adapter_type} at {where}" + (f" unit {unit}" if unit is not None else "")


def read_device(adapter_type: str, config: Mapping[str, Any], *, identify_only: bool = False
                ) -> dict[str, Any]:
    """Identify and read one device once; return one JSON-ready dict.

    Raises :class:`AdapterError` (with the device named in the message) on any failure.
    """
    try:
        with create_driver(adapter_type, config) as driver:
            identity = driver.identify()
            result: dict[str, Any] = {
                "adapter_type": adapter_type,
                "serial_number": identity.serial_number or None,  # None: the device does not say
                "model": identity.model,
            }
            if identity.extra:
                result["identity"] = identity.extra
            if not identify_only:
                reading = driver.read()
                result["kind"] = reading.kind
                result["reading"] = reading.as_dict()
            return result
    except AdapterError as exc:
        raise type(exc)(f"{describe_target(adapter_type, config)}: {exc}",
                        permanent=exc.permanent) from exc
