"""Writes to ``device_discovery``: seen, moved, missing, created, approved, rejected.

The scan (``discovery.phases``), the admin actions and the API all call these.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from adapters.readings import DeviceIdentity
from discovery import configure
from discovery.choices import DiscoveryStatus
from discovery.conf import DiscoverySettings
from discovery.models import DeviceDiscovery

PORT_HISTORY_LENGTH = 50
TRACKED = (DiscoveryStatus.ACTIVE, DiscoveryStatus.RECOVERING)


def _several_collectors() -> bool:
    from catalog.models import Collector

    return Collector.objects.count() > 1


def _append_history(row: DeviceDiscovery, port: str, now: datetime) -> None:
    row.port_history = [*row.port_history, {"port": port, "seen_at": now.isoformat()}][-PORT_HISTORY_LENGTH:]


@transaction.atomic
def device_seen(row: DeviceDiscovery, port: str, now: datetime, *, collector: str = "",
                assign: str | None = None) -> bool:
    """Record that ``row``'s device answered on ``port`` of ``collector``; True when it had moved.

    A move updates ``port``, ``last_known_port``, the history and the adapter's
    ``serial_port``; the device keeps its id, catalog rows and samples. Found on another
    collector's port (its USB adapter went to another host), it becomes that collector's.
    """
    moved = row.port != port
    if collector and row.collector_id and row.collector_id != collector:
        configure.set_adapter_collector(row, collector)
    elif assign:
        configure.set_adapter_collector(row, assign, only_unassigned=True)
    row.collector_id = collector or row.collector_id
    if moved:
        row.last_known_port = row.port
        _append_history(row, port, now)
        configure.set_adapter_port(row, port)
        row.port = port
    if row.status in TRACKED:
        row.status = DiscoveryStatus.ACTIVE
        row.failure_count = 0
        row.next_retry_time = None
        row.last_error = ""
    row.last_seen = row.discovery_timestamp = now
    row.save()
    return moved


@transaction.atomic
def device_missed(row: DeviceDiscovery, now: datetime, conf: DiscoverySettings) -> None:
    """Count a scan that looked for ``row``'s device and did not find it.

    The next look backs off exponentially; at ``max_failures`` misses in a row the device is
    disabled for good (its adapter stops being polled) until someone approves it again.
    """
    row.failure_count += 1
    row.last_error = f"not found on {row.port} or any free port"
    if row.failure_count >= conf.max_failures:
        row.status = DiscoveryStatus.DISABLED
        row.next_retry_time = None
        configure.set_adapter_enabled(row, False)
    else:
        row.status = DiscoveryStatus.RECOVERING
        row.next_retry_time = now + timedelta(seconds=conf.retry_delay_s(row.failure_count))
    row.save()


@transaction.atomic
def device_found_new(adapter_type: str, identity: DeviceIdentity, config: dict[str, Any], port: str,
                     now: datetime, *, require_approval: bool, collector: str | None = None,
                     assign: str | None = None) -> DeviceDiscovery:
    """A device no row knows: its row, and (unless approval is required) its catalog entries.

    ``collector`` found it; ``assign`` is the collector set on its adapter (None: implicit).
    """
    row = DeviceDiscovery(collector_id=collector,
        device_id=configure.new_device_id(adapter_type, identity.serial_number), device_type=adapter_type,
        serial_number=identity.serial_number, model=identity.model[:200], port=port,
        adapter_config=configure.adapter_config_for(adapter_type, config, identity),
        status=DiscoveryStatus.PENDING if require_approval else DiscoveryStatus.ACTIVE,
        first_discovered=now, last_seen=now, discovery_timestamp=now, is_auto_discovered=True,
        device_kind=configure.device_kind_for(adapter_type))
    _append_history(row, port, now)
    if not require_approval:
        configure.create_catalog_entries(row, assign)
    row.save(force_insert=True)
    return row


@transaction.atomic
def device_adopted(adapter_id: str, adapter_type: str, identity: DeviceIdentity, config: dict[str, Any],
                   port: str, now: datetime, *, collector: str | None = None,
                   assign: str | None = None) -> DeviceDiscovery:
    """A device configured by hand or YAML, found on a port: track it instead of duplicating it."""
    from catalog.models import Adapter

    adapter = Adapter.objects.get(pk=adapter_id)
    row = DeviceDiscovery(
        device_id=adapter.device_id or configure.new_device_id(adapter_type, identity.serial_number),
        device_type=adapter_type, serial_number=identity.serial_number, model=identity.model[:200],
        port=port, adapter_config={**adapter.config_json, "serial_port": port},
        status=DiscoveryStatus.ACTIVE, first_discovered=now, last_seen=now, discovery_timestamp=now,
        is_auto_discovered=False, device_kind=adapter.device_type or "",
        catalog_device_id=adapter.device_id or "", adapter=adapter, collector_id=collector)
    if DeviceDiscovery.objects.filter(pk=row.device_id).exists():
        row.device_id = configure.new_device_id(adapter_type, identity.serial_number)
    _append_history(row, port, now)
    configure.set_adapter_port(row, port)
    if collector and adapter.collector_id not in (None, collector):  # it moved to this host
        configure.set_adapter_collector(row, collector)
    elif assign:
        configure.set_adapter_collector(row, assign, only_unassigned=True)
    row.save(force_insert=True)
    return row


@transaction.atomic
def approve_device(row: DeviceDiscovery) -> DeviceDiscovery:
    """Configure a pending (or re-enable a rejected or disabled) device: catalog entries, adapter on."""
    if row.adapter_id is None:
        if configure.KIND_MODELS[configure.device_kind_for(row.device_type)].objects.filter(
                pk=row.device_id).exists():
            raise ValidationError(f"a catalog device {row.device_id!r} exists already; "
                                  "rename it or delete this row first")
        configure.create_catalog_entries(row, row.collector_id if _several_collectors() else None)
    else:
        configure.set_adapter_enabled(row, True)
    row.status = DiscoveryStatus.ACTIVE
    row.failure_count, row.next_retry_time, row.last_error = 0, None, ""
    row.save()
    return row


@transaction.atomic
def reject_device(row: DeviceDiscovery) -> DeviceDiscovery:
    """Ignore this device from now on: scans remember its serial and never configure it again.

    If it was configured already, its adapter is switched off; its catalog rows and samples stay.
    """
    configure.set_adapter_enabled(row, False)
    row.status = DiscoveryStatus.REJECTED
    row.next_retry_time = None
    row.save()
    return row
