"""Reads discovery needs from other apps: which ports configured devices use successfully, and
which discovered devices belong to which collector."""

from __future__ import annotations

from datetime import datetime

from catalog.collectors import Owners
from catalog.models import Adapter
from discovery.models import DeviceDiscovery
from discovery.scanning import port_key
from telemetry.choices import DeviceState
from telemetry.models import DeviceStatus
from telemetry.status import effective_state


def ports_in_use(now: datetime, collector: str, owners: Owners) -> dict[str, set[str]]:
    """Port key → ids of ``collector``'s enabled adapters whose device is polled there
    successfully right now (another collector's adapters are on another host's ports).

    "Successfully" is the device's status aged to ``now`` (online), so after a reboot, when
    no poll has succeeded yet, saved ports are probed again and a swap can be noticed.
    """
    statuses = {(s.device_type, s.device_id): s for s in DeviceStatus.objects.all()}
    in_use: dict[str, set[str]] = {}
    for adapter in Adapter.objects.filter(enabled=True, device_id__isnull=False).order_by("pk"):
        port = adapter.config_json.get("serial_port")
        if not port or adapter.config_json.get("transport") in ("tcp", "rtu_over_tcp"):
            continue
        if owners.owner_of(adapter) != collector:
            continue
        status = statuses.get((str(adapter.device_type), str(adapter.device_id)))
        if status is None or effective_state(status, now) != DeviceState.ONLINE:
            continue
        if status.active_adapter_id in ("", adapter.pk):  # a failed-over pack reads another adapter
            in_use.setdefault(port_key(str(port)), set()).add(adapter.pk)
    return in_use


def owned_by(row: DeviceDiscovery, collector: str, owners: Owners) -> bool:
    """Whether ``row``'s device is ``collector``'s to verify, look for and miss.

    The owner of its adapter (the collector that polls it), else the collector that found it,
    else (rows from before collectors existed) the only collector.
    """
    if row.adapter is not None:
        return owners.owner_of(row.adapter) == collector
    if row.collector_id:
        return row.collector_id == collector
    return owners.implicit() == collector
