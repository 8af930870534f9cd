"""Celery tasks for polling. Thin: they take ids and call the poll service.

``dispatch_polls`` runs every few seconds from beat. It picks the devices that are due,
groups them by bus (one serial port, one gateway: one task, polled in turn), and queues
one ``poll_bus`` task per bus, so devices on different buses are polled in parallel and
devices on the same bus never are. Each task expires before its device's next slot, so a
stalled worker never piles up polls.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.utils import timezone

from telemetry.derive import derive_samples
from telemetry.models import DeviceStatus
from telemetry.polling import DeviceRef, device_refs, due_devices, poll_device, slot_for

POLL_TIME_LIMIT_S = 120


def group_by_bus(refs: list[DeviceRef]) -> list[list[DeviceRef]]:
    """Devices that share any bus land in the same group (union of overlapping buses)."""
    groups: list[tuple[set[str], list[DeviceRef]]] = []
    for ref in refs:
        buses = set(ref.buses)
        merged = [g for g in groups if g[0] & buses]
        for g in merged:
            groups.remove(g)
            buses |= g[0]
        groups.append((buses, [r for g in merged for r in g[1]] + [ref]))
    return [members for _, members in groups]


@shared_task(ignore_result=True)
def dispatch_polls() -> int:
    """Queue a ``poll_bus`` task for every bus with a device due now. Returns tasks queued."""
    now = timezone.now()
    due = due_devices(now)
    for group in group_by_bus(due):
        interval = min(r.interval_s for r in group)
        slot = slot_for(now, interval)
        for ref in group:
            # Claim the slot now, so the next dispatch does not queue this device again.
            DeviceStatus.objects.update_or_create(
                device_type=ref.kind, device_id=ref.device_id,
                defaults={"next_poll_at": slot_for(now, ref.interval_s) + timedelta(seconds=ref.interval_s),
                          "system_id": ref.system_id, "poll_interval_s": ref.interval_s})
        poll_bus.apply_async(args=([r.key for r in group], slot.isoformat()),
                             expires=max(interval * 0.9, 1.0))
    return len(due)


@shared_task(ignore_result=True, soft_time_limit=POLL_TIME_LIMIT_S - 10, time_limit=POLL_TIME_LIMIT_S)
def poll_bus(device_keys: list[str], slot_iso: str) -> None:
    """Poll the given devices in turn at one slot, then derive their systems' totals."""
    slot = datetime.fromisoformat(slot_iso)
    wanted = set(device_keys)
    refs = [r for r in device_refs() if r.key in wanted]
    systems: set[str] = set()
    for ref in refs:
        if poll_device(ref, slot).ok:
            systems.add(ref.system_id)
    for system_id in systems:
        derive_samples(system_id, slot)
