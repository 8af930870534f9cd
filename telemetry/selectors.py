"""Read-side queries over samples: latest state per device and downsampled ranges.

Every selector runs a fixed number of queries whatever the number of devices. "Latest" is looked
for within ``LATEST_WINDOW`` before now, walking the (ts, device) primary key back from the
newest rows, so the cost does not grow with the history on disk. A device silent for longer is
offline (its status says so) and has no latest values to show.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from catalog import models as catalog
from catalog.selectors import system_tree
from telemetry import models as t
from telemetry.choices import DeviceKind
from telemetry.status import effective_state

# (sample model, device field, catalog model) per device kind
KINDS: dict[str, tuple[Any, str, Any]] = {
    DeviceKind.INVERTER: (t.EnergySample, "inverter", catalog.Inverter),
    DeviceKind.BATTERY_PACK: (t.BatteryBankSample, "pack", catalog.BatteryPack),
    DeviceKind.METER: (t.MeterSample, "meter", catalog.Meter),
}
_SKIP = {"system", "array", "battery_array"}
# Longer than any device stays "stale" (20 poll intervals of at most an hour would be 20 h).
LATEST_WINDOW = timedelta(days=1)


def _sample_dict(row: models.Model) -> dict[str, Any]:
    data = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields
            if f.name not in _SKIP}
    return data


def latest_samples(kind: str, system_id: str, now: datetime | None = None) -> dict[str, models.Model]:
    """The newest sample (within ``LATEST_WINDOW``) of each device of ``kind`` in a system: two queries."""
    sample_model, field, device_model = KINDS[kind]
    since = (now or timezone.now()) - LATEST_WINDOW
    newest = (sample_model.objects.filter(**{field: OuterRef("pk"), "ts__gte": since})
              .order_by("-ts").values("ts")[:1])
    pairs = [(pk, ts) for pk, ts in device_model.objects.filter(system_id=system_id)
             .annotate(latest_ts=Subquery(newest)).values_list("pk", "latest_ts") if ts is not None]
    if not pairs:
        return {}
    # Two IN lists rather than one OR per device (SQLite limits expression depth); polls share
    # slot times, so the few extra (device, ts) combinations this admits are dropped below.
    wanted = set(pairs)
    rows = sample_model.objects.filter(**{f"{field}_id__in": {pk for pk, _ in pairs},
                                          "ts__in": {ts for _, ts in pairs}})
    return {getattr(row, f"{field}_id"): row for row in rows
            if (getattr(row, f"{field}_id"), row.ts) in wanted}


def status_dict(status: t.DeviceStatus | None, now: datetime) -> dict[str, Any]:
    """A device's status as the API and dashboard show it (state aged to ``now``)."""
    if status is None:
        return {"state": effective_state(None, now), "last_seen": None, "last_error": "",
                "consecutive_failures": 0, "active_adapter_id": "", "age_s": None, "collector": "",
                "missed_polls": 0}
    return {
        "state": effective_state(status, now),
        "last_seen": status.last_seen,
        "last_error": status.last_error,
        "last_error_at": status.last_error_at,
        "consecutive_failures": status.consecutive_failures,
        "active_adapter_id": status.active_adapter_id,
        "age_s": None if status.last_seen is None else round((now - status.last_seen).total_seconds(), 1),
        "collector": status.collector,
        "missed_polls": status.missed_polls,
    }


def latest_by_device(system_id: str, now: datetime | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Status and latest values of every device of a system, keyed by (device_type, device_id).

    A fixed number of queries (one for statuses, two per device kind).
    """
    now = now or timezone.now()
    statuses = {(s.device_type, s.device_id): s for s in t.DeviceStatus.objects.filter(system_id=system_id)}
    result: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in KINDS:
        latest = latest_samples(kind, system_id, now)
        device_ids = set(latest) | {d for k, d in statuses if k == kind}
        for device_id in device_ids:
            row = latest.get(device_id)
            result[(kind, device_id)] = {
                "status": status_dict(statuses.get((kind, device_id)), now),
                "latest": _sample_dict(row) if row is not None else None,
            }
    return result


def latest_system_sample(system_id: str, now: datetime | None = None) -> t.SystemSample | None:
    since = (now or timezone.now()) - LATEST_WINDOW
    return t.SystemSample.objects.filter(system_id=system_id, ts__gte=since).order_by("-ts").first()


def _latest_detail(model: Any, pack_id: str, head_ts: datetime) -> list[Any]:
    """The unit (cell) rows of the newest detail interval at or before the pack sample at ``head_ts``."""
    rows = model.objects.filter(pack_id=pack_id, ts__lte=head_ts, ts__gt=head_ts - LATEST_WINDOW)
    newest = rows.order_by("-ts").values_list("ts", flat=True).first()
    return [] if newest is None else list(rows.filter(ts=newest))


def latest_pack_detail(pack_id: str, now: datetime | None = None) -> dict[str, Any] | None:
    """The newest pack sample with its units and cells (five queries).

    Unit and cell rows are kept at the pack's detail interval (telemetry.ingest): the newest of
    them holds the latest reading, so it is shown with the newest pack sample.
    """
    since = (now or timezone.now()) - LATEST_WINDOW
    head = t.BatteryBankSample.objects.filter(pack_id=pack_id, ts__gte=since).order_by("-ts").first()
    if head is None:
        return None
    units = sorted(_latest_detail(t.BatteryUnitSample, pack_id, head.ts), key=lambda u: u.power)
    cells = sorted(_latest_detail(t.BatteryCellSample, pack_id, head.ts), key=lambda c: (c.power, c.cell))
    by_unit: dict[int, list[dict[str, Any]]] = {}
    for cell in cells:
        by_unit.setdefault(cell.power, []).append(_sample_dict(cell))
    return {**_sample_dict(head),
            "units": [{**_sample_dict(u), "cells": by_unit.get(u.power, [])} for u in units]}


# Per process: each system's newest samples, with the devices' last good readings they were read
# at (see ``device_states``).
_LATEST: dict[str, tuple[tuple[Any, ...], dict[tuple[str, str], dict[str, Any]]]] = {}


def device_states(system_id: str, now: datetime | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """What :func:`latest_by_device` gives, in one query while no device has had a new reading.

    A poll writes its samples before it records its success (``last_seen``) in the device's
    status, so while every ``last_seen`` of the system is what it was, so is every device's
    newest sample: the status table (read anyway) says whether the samples held by this process
    are still the newest (while a device of the catalog has no status yet, its system's samples
    are read at every call). The "latest" dicts are shared between calls: read them, never change them.
    """
    now = now or timezone.now()
    statuses = {(s.device_type, s.device_id): s for s in t.DeviceStatus.objects.filter(system_id=system_id)}
    mark = tuple(sorted((key, status.last_seen) for key, status in statuses.items()))
    held = _LATEST.get(system_id)
    if held is None or held[0] != mark:
        held = (mark, {(kind, device_id): _sample_dict(row) for kind in KINDS
                       for device_id, row in latest_samples(kind, system_id, now).items()})
        # Samples of a device without a status (imported, not polled yet) can change with no
        # status saying so: such a system's samples are read at every call.
        tree = system_tree(system_id)
        if tree is not None and statuses.keys() >= {*tree.device_keys(), *held[1]}:
            _LATEST[system_id] = held
    since = now - LATEST_WINDOW
    latest = {key: values for key, values in held[1].items() if values["ts"] >= since}
    return {key: {"status": status_dict(statuses.get(key), now), "latest": latest.get(key)}
            for key in {*latest, *statuses}}


def forget_device_states() -> None:
    """Drop the samples held by :func:`device_states` (tests that rewrite samples behind its back)."""
    _LATEST.clear()
