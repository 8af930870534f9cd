"""The original's ``device_discovery`` rows, carried over so devices bound by their serial number
stay bound after the move (a port that changes at the next reboot is followed, not rediscovered).

Each row is matched to the catalog adapter on its port (the original's ``port``, its last known
port, its port history, or the port in its adapter config) and type. Its traps are undone: the
adapter config's port is refreshed from ``port``, a retry time left behind by a recovered device
is cleared, ``permanently_disabled`` is solarmon's ``disabled``. A device solarmon already tracks
(same type and serial number) keeps solarmon's row.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware

from catalog import models as cm
from catalog.constants import ID_MAX_LENGTH
from catalog.services import save_entity
from catalog.yamlconfig.original import ADAPTER_DROPPED
from discovery.choices import DiscoveryStatus
from discovery.models import DeviceDiscovery
from legacy.source import LegacyError, Shape, explain

STATUSES = {"active": DiscoveryStatus.ACTIVE, "recovering": DiscoveryStatus.RECOVERING,
            "permanently_disabled": DiscoveryStatus.DISABLED, "disabled": DiscoveryStatus.DISABLED}


@dataclass
class DiscoveryOutcome:
    """What happened to each of the original's rows."""

    lines: list[str] = field(default_factory=list)


def carry_over(conn: sqlite3.Connection, shape: Shape, path: Path, *, dry_run: bool) -> DiscoveryOutcome:
    """Write (or, with ``dry_run``, only describe) the original's discovery rows."""
    outcome = DiscoveryOutcome()
    if not shape.has("device_discovery"):
        return outcome
    try:
        cursor = conn.execute("SELECT rowid AS _rowid, * FROM legacy.device_discovery ORDER BY rowid")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor]
    except sqlite3.Error as exc:
        raise explain(path, exc, "table device_discovery") from exc
    with transaction.atomic():
        for row in rows:
            outcome.lines.append(_carry(path, row, dry_run))
        if dry_run:
            transaction.set_rollback(True)
    return outcome


def _carry(path: Path, row: dict[str, Any], dry_run: bool) -> str:
    device_type, serial = str(row.get("device_type") or ""), str(row.get("serial_number") or "")
    if not device_type or not serial:
        return f"device_discovery row {row['_rowid']}: no type or serial number, not carried over"
    existing = DeviceDiscovery.objects.filter(device_type=device_type, serial_number=serial).first()
    if existing is not None:
        return f"{existing.device_id} ({device_type} {serial}): already tracked by solarmon, kept"
    ports = _ports(path, row)
    adapter = _adapter_on(device_type, ports)
    device_id = (adapter.device_id if adapter is not None and adapter.device_id else str(row["device_id"]))
    if len(device_id) > ID_MAX_LENGTH:
        return f"device_discovery row {row['_rowid']}: device id {device_id!r} is too long, not carried over"
    if DeviceDiscovery.objects.filter(pk=device_id).exists():
        return f"{device_id} ({device_type} {serial}): the id is taken by another device, not carried over"
    status = STATUSES.get(str(row.get("status") or "active"), DiscoveryStatus.ACTIVE)
    port = ports[0] if ports else ""
    config = dict(adapter.config_json) if adapter is not None else _config(path, row)
    if port:
        config["serial_port"] = port  # the original never refreshed it when the port changed
    DeviceDiscovery.objects.create(
        device_id=device_id, device_type=device_type, serial_number=serial, port=port,
        last_known_port=row.get("last_known_port") or None,
        port_history=[{"port": p, "seen_at": None} for p in ports],
        adapter_config=config, status=status, failure_count=int(row.get("failure_count") or 0),
        next_retry_time=_time(row.get("next_retry_time")) if status == DiscoveryStatus.RECOVERING else None,
        first_discovered=_time(row.get("first_discovered")), last_seen=_time(row.get("last_seen")),
        discovery_timestamp=_time(row.get("discovery_timestamp")),
        is_auto_discovered=bool(row.get("is_auto_discovered")),
        device_kind=adapter.device_type or "" if adapter is not None else "",
        catalog_device_id=adapter.device_id or "" if adapter is not None else "", adapter=adapter)
    if adapter is not None:
        _record_serial(adapter, serial)
    bound = (f"bound to {adapter.device_type} {adapter.device_id}" if adapter is not None
             else "no catalog device")
    verb = "would be carried over" if dry_run else "carried over"
    return f"{device_id} ({device_type} {serial} on {port or 'no port'}): {verb}, {bound}"


def _ports(path: Path, row: dict[str, Any]) -> list[str]:
    """The ports the device was seen on, newest first, without repeats."""
    found: list[str] = [str(p) for p in (row.get("port"), row.get("last_known_port")) if p]
    history = row.get("port_history")
    try:
        listed = json.loads(history) if isinstance(history, str) and history else []
    except ValueError as exc:
        raise LegacyError(f"{path}: table device_discovery, row {row['_rowid']}: port_history is not JSON: "
                          f"{exc}") from exc
    for entry in reversed(listed if isinstance(listed, list) else []):
        port = entry.get("port") if isinstance(entry, dict) else entry
        if port:
            found.append(str(port))
    found.append(str(_config(path, row).get("serial_port") or ""))
    unique: list[str] = []
    for port in found:
        if port and port not in unique:
            unique.append(port)
    return unique


def _config(path: Path, row: dict[str, Any]) -> dict[str, Any]:
    try:
        config = json.loads(row.get("adapter_config") or "{}")
    except ValueError as exc:
        raise LegacyError(f"{path}: table device_discovery, row {row['_rowid']}: adapter_config is not JSON: "
                          f"{exc}") from exc
    if not isinstance(config, dict):
        return {}
    return {key: value for key, value in config.items() if key != "type" and key not in ADAPTER_DROPPED}


def _adapter_on(device_type: str, ports: list[str]) -> cm.Adapter | None:
    """The catalog adapter of this type whose serial port is one of the device's ports."""
    adapters = cm.Adapter.objects.filter(adapter_type=device_type, discoveries__isnull=True)
    for port in ports:
        for adapter in adapters:
            if adapter.config_json.get("serial_port") == port:
                return adapter
    return None


def _record_serial(adapter: cm.Adapter, serial: str) -> None:
    """Give the catalog device the serial number discovery binds it by, where it has none."""
    device: cm.Inverter | cm.Meter | None = None
    if adapter.device_type == "inverter":
        device = cm.Inverter.objects.filter(pk=adapter.device_id).first()
    elif adapter.device_type == "meter":
        device = cm.Meter.objects.filter(pk=adapter.device_id).first()
    if device is not None and not device.serial_number:
        device.serial_number = serial[:64]
        save_entity(device)


def _time(value: Any) -> datetime | None:
    """The original's ISO times (F2, with an offset); naive ones are taken as UTC."""
    if not value:
        return None
    parsed = parse_datetime(str(value).replace(" ", "T", 1))
    if parsed is None:
        return None
    return make_aware(parsed, timezone=None) if is_naive(parsed) else parsed
