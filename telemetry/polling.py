"""The poll service: one device → its adapter(s) → a reading → sample rows, plus status.

``poll_device`` is what the Celery task and ``manage.py poll --once`` call. It reads under
the bus lock, writes all rows of the reading in one transaction (a re-delivered task adds
nothing, since rows are keyed on the poll's slot time), and records the device's status.
Drivers are cached per process so connections are reused between polls.

Each device has an owner, the collector that polls it (``catalog.collectors.Owners``): the
owner of its adapter, or for a pack, of its first adapter by priority. A pack's adapters that
belong to another collector are left out of its failover here: this host cannot reach them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from adapters.errors import AdapterError
from adapters.failover import FailoverReader
from adapters.readings import BatteryPackReading, InverterReading, MeterReading, Reading
from adapters.registry import create_driver, get_type
from catalog import models as catalog
from catalog.collectors import Owners
from catalog.selectors import PackNode, SystemTree, load_system_tree, system_tree
from catalog.services import ensure_pack_units
from telemetry import ingest
from telemetry.buses import BusBusy, bus_key, bus_locks
from telemetry.choices import DeviceKind
from telemetry.models import DeviceStatus
from telemetry.status import record_failure, record_missed, record_poll_success, record_success

log = logging.getLogger(__name__)

FAILBACK_INTERVAL_S = 60.0
# A poll waits at most this share of its interval (and never above BUS_WAIT_MAX_S) for a bus
# another poll holds; then it counts as missed rather than hold a worker thread.
BUS_WAIT_SHARE = 0.5
BUS_WAIT_MAX_S = 5.0


@dataclass(frozen=True)
class AdapterRef:
    adapter_id: str
    adapter_type: str
    priority: int
    config: dict[str, Any]
    revision: str = ""  # the adapter row's updated_at: any save of the adapter changes it


@dataclass
class DeviceRef:
    """A pollable device, how to reach it, and the collector that polls it (None: nobody)."""

    kind: str
    device_id: str
    system_id: str
    interval_s: float
    adapters: list[AdapterRef] = field(default_factory=list)
    owner: str | None = None
    # Worked out once per ref (refs live in the process's catalog snapshot, telemetry.snapshot).
    _buses: list[str] | None = field(default=None, init=False, repr=False, compare=False)
    _fingerprint: str = field(default="", init=False, repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.device_id}"

    @property
    def buses(self) -> list[str]:
        if self._buses is None:
            # bus_key reads top-level keys only: a shallow overlay of the defaults does (no deep copy).
            self._buses = sorted({bus_key(a.adapter_type, {**get_type(a.adapter_type).default_config,
                                                           **a.config}, self.owner or "")
                                  for a in self.adapters})
        return self._buses

    def fingerprint(self) -> str:
        if not self._fingerprint:
            raw = json.dumps([(a.adapter_id, a.adapter_type, a.priority, a.config, a.revision)
                              for a in self.adapters], sort_keys=True, default=str)
            self._fingerprint = hashlib.sha1(raw.encode()).hexdigest()
        return self._fingerprint


@dataclass
class PollOutcome:
    """What one poll of one device did (printed by ``poll --once``)."""

    device: DeviceRef
    ok: bool
    adapter_id: str = ""
    rows: int = 0
    written: int = 0
    duration_ms: int = 0
    error: str = ""
    skipped: bool = False
    flags: list[str] = field(default_factory=list)  # values of the reading left unknown
    # Whether another device of the system still had this slot pending when this poll's status
    # was written (``record_poll_success``); None when not known.
    others_pending: bool | None = None


def _adapter_ref(adapter: catalog.Adapter, priority: int | None = None) -> AdapterRef:
    return AdapterRef(adapter.adapter_id, adapter.adapter_type_id,
                      adapter.priority if priority is None else priority, dict(adapter.config_json),
                      adapter.updated_at.isoformat() if adapter.updated_at else "")


# An adapter type's documents, which polling never reads (decoding them was most of the cost).
_TYPE_DOCS = ("config_schema", "default_config", "supported_transports", "description")


def device_refs(system_id: str | None = None, owners: Owners | None = None,
                keys: list[str] | None = None) -> list[DeviceRef]:
    """Every enabled device with at least one enabled adapter, with its owner (four queries).

    ``system_id`` keeps one system's; ``keys`` (``kind:device_id``) keeps the named devices, so
    a task that polls a few devices does not load every device there is.
    """
    owners = owners or Owners.load(timezone.now())
    refs: list[DeviceRef] = []
    scope: dict[str, Any] = {"system_id": system_id} if system_id else {}
    named: dict[str, list[str]] = {}
    for key in keys or []:
        kind, _, device_id = key.partition(":")
        named.setdefault(kind, []).append(device_id)
    for kind, model in ((DeviceKind.INVERTER, catalog.Inverter), (DeviceKind.METER, catalog.Meter)):
        if keys is not None and kind not in named:
            continue
        only = {"pk__in": named[kind]} if keys is not None else {}
        for dev in model.objects.filter(adapter__enabled=True, **scope, **only).select_related(
                "adapter__adapter_type").defer(*(f"adapter__adapter_type__{name}" for name in _TYPE_DOCS)
                                              ).order_by("pk"):
            adapter = dev.adapter
            assert adapter is not None  # filtered on adapter__enabled
            refs.append(DeviceRef(kind, dev.pk, dev.system_id, adapter.effective_poll_interval(),
                                  [_adapter_ref(adapter)], owners.owner_of(adapter)))
    if keys is not None and DeviceKind.BATTERY_PACK not in named:
        return refs
    only = {"pack_id__in": named[DeviceKind.BATTERY_PACK]} if keys is not None else {}
    links = catalog.BatteryPackAdapter.objects.filter(enabled=True, adapter__enabled=True, **only, **{
        f"pack__{k}": v for k, v in scope.items()}).select_related("pack", "adapter__adapter_type").defer(
        *(f"adapter__adapter_type__{name}" for name in _TYPE_DOCS))
    packs: dict[str, DeviceRef] = {}
    for link in links.order_by("pack_id", "priority"):
        owner = owners.owner_of(link.adapter)
        ref = packs.setdefault(link.pack_id, DeviceRef(
            DeviceKind.BATTERY_PACK, link.pack_id, link.pack.system_id,
            link.adapter.effective_poll_interval(), [], owner))
        if owner == ref.owner:
            ref.adapters.append(_adapter_ref(link.adapter, link.priority))
    refs.extend(packs.values())
    return refs


# ---- drivers, cached per process --------------------------------------------------------
_READERS: dict[str, tuple[str, FailoverReader]] = {}


def _reader(ref: DeviceRef) -> FailoverReader:
    cached = _READERS.get(ref.key)
    fingerprint = ref.fingerprint()
    if cached and cached[0] == fingerprint:
        return cached[1]
    if cached:
        cached[1].close()
    members = [(a.adapter_id, a.priority, create_driver(a.adapter_type, a.config)) for a in ref.adapters]
    reader = FailoverReader(members, failback_interval_s=FAILBACK_INTERVAL_S)
    _READERS[ref.key] = (fingerprint, reader)
    return reader


def close_readers() -> None:
    """Close every cached connection (worker shutdown, tests)."""
    for _, reader in _READERS.values():
        reader.close()
    _READERS.clear()


# ---- one poll ---------------------------------------------------------------------------
def system_phase_ms(system_id: str) -> int:
    """The system's stable place in every poll interval, as a number of milliseconds (0 with
    ``SOLARMON_POLL_SPREAD`` off): :func:`slot_for` takes it modulo the interval.

    Each system is polled at its own offset within the interval rather than all at its
    boundary, so 500 devices polled every 5 s fall due a few at a time instead of all at once
    (a burst whose last polls start seconds late). The offset comes from a hash of the system's
    id, so it never changes while the system exists, every process and host works out the same
    one without asking anybody, and adding a system moves no other. All devices of a system
    share it: their samples carry the same slot times, and its totals are derived once per slot.
    """
    if not settings.SOLARMON_POLL_SPREAD:
        return 0
    return _phase_of(system_id)


@functools.lru_cache(maxsize=4096)
def _phase_of(system_id: str) -> int:
    # Whole tenths of a second: slot times read 12:00:03.4, not 12:00:03.417.
    return int.from_bytes(hashlib.sha256(system_id.encode()).digest()[:8], "big") * PHASE_STEP_MS


PHASE_STEP_MS = 100


def slot_for(now: datetime, interval_s: float, system_id: str | None = None) -> datetime:
    """The poll's nominal time, which its samples carry: the last slot of ``system_id``'s poll
    grid at or before ``now`` (the interval's multiples, shifted by the system's phase,
    :func:`system_phase_ms`; no system: the interval's multiples since the epoch).

    Duplicate tasks share it. Within one system, the grid of a longer interval that is a
    multiple of a shorter one is part of the shorter's (a 10 s pack and 5 s inverters meet at
    every other slot), as on the epoch's grid.
    """
    step = max(int(interval_s * 1000), 1000)
    phase = system_phase_ms(system_id) % step if system_id else 0
    epoch_ms = int(now.timestamp() * 1000)
    return datetime.fromtimestamp((epoch_ms - (epoch_ms - phase) % step) / 1000, tz=UTC)


def statuses_for(refs: list[DeviceRef]) -> dict[str, DeviceStatus]:
    """The status rows of ``refs`` by device key, in one query (devices never polled are absent)."""
    if not refs:
        return {}
    wanted = {ref.key for ref in refs}
    rows = DeviceStatus.objects.filter(device_id__in={ref.device_id for ref in refs})
    return {key: s for s in rows if (key := f"{s.device_type}:{s.device_id}") in wanted}


def _status_for(ref: DeviceRef, status: DeviceStatus | None = None) -> DeviceStatus:
    if status is None:
        status, _ = DeviceStatus.objects.get_or_create(
            device_type=ref.kind, device_id=ref.device_id,
            defaults={"system_id": ref.system_id, "poll_interval_s": ref.interval_s})
    if status.poll_interval_s != ref.interval_s or status.system_id != ref.system_id:
        status.poll_interval_s, status.system_id = ref.interval_s, ref.system_id
    return status


def _rows(ref: DeviceRef, reading: Reading, ts: datetime, tree: SystemTree) -> ingest.RowSet:
    """The reading's rows, placed in the hierarchy from ``tree`` (no catalog query)."""
    if ref.kind == DeviceKind.INVERTER and isinstance(reading, InverterReading):
        inverter = tree.inverter(ref.device_id)
        if inverter is not None:
            return ingest.inverter_values(inverter.inverter_id, inverter.array_id, tree.system_id, reading,
                                          ts)
    elif ref.kind == DeviceKind.METER and isinstance(reading, MeterReading):
        meter = tree.meter(ref.device_id)
        if meter is not None:
            return ingest.meter_values(meter.meter_id, meter.array_id, tree.system_id, reading, ts)
    elif ref.kind == DeviceKind.BATTERY_PACK and isinstance(reading, BatteryPackReading):
        pack = tree.pack(ref.device_id)
        if pack is not None:
            return _pack_values(ref, pack, reading, ts, tree)
    else:
        raise AdapterError(f"adapter returned a {reading.kind} reading for {ref.kind} {ref.device_id}",
                           permanent=True)
    raise AdapterError(f"{ref.kind} {ref.device_id} is no longer in system {tree.system_id}")


def _pack_values(ref: DeviceRef, pack: PackNode, reading: BatteryPackReading, ts: datetime,
                 tree: SystemTree) -> ingest.RowSet:
    batteries, cells = _unit_ids(pack)
    if ingest.missing_units(batteries, cells, reading):  # a pack's first reading, or it grew
        need_units = max((u.index for u in reading.units), default=0)
        need_cells = max((len(u.cells) for u in reading.units), default=0)
        ensure_pack_units(catalog.BatteryPack.objects.get(pk=pack.pack_id), need_units, need_cells)
        fresh = load_system_tree(tree.system_id)
        grown = fresh.pack(pack.pack_id) if fresh is not None else None
        if grown is None:
            raise AdapterError(f"battery pack {pack.pack_id} is no longer in system {tree.system_id}")
        batteries, cells = _unit_ids(grown)
        if ingest.missing_units(batteries, cells, reading):
            raise AdapterError(f"the reading of battery pack {pack.pack_id} numbers its units or cells in "
                               "a way the catalog cannot hold", permanent=True)
    config = next((a.config for a in ref.adapters if a.adapter_id == reading.adapter_id), None)
    return ingest.pack_values(pack.pack_id, pack.battery_array_id, tree.system_id, batteries, cells, reading,
                              ts, ingest.detail_interval_of(config))


def _unit_ids(pack: PackNode) -> tuple[dict[int, str], dict[tuple[str, int], str]]:
    """Battery ids by index and cell ids by (battery id, cell index)."""
    return ({b.battery_index: b.battery_id for b in pack.batteries},
            {(b.battery_id, index): cell for b in pack.batteries for index, cell in b.cells.items()})


def bus_wait_s(interval_s: float) -> float:
    """How long a poll may wait for its bus (see ``BUS_WAIT_SHARE``)."""
    return min(interval_s * BUS_WAIT_SHARE, BUS_WAIT_MAX_S)


def poll_device(ref: DeviceRef, slot: datetime | None = None, *, tree: SystemTree | None = None,
                status: DeviceStatus | None = None) -> PollOutcome:
    """Read one device once and store the result; never raises for device trouble.

    A permanent driver error (wrong device, bad config) stops retries until the adapter
    changes; a transient one backs off; a bus that stays busy makes a missed poll.

    ``tree`` is the device's system when the caller holds it (a ``poll_bus`` task's catalog
    snapshot); with it, a good poll costs its sample write (one statement per table) and its
    status update (one UPDATE, the row not read first), nothing more. ``status`` is the row
    when the caller has it; a failed poll reads it otherwise (its backoff counts on it).
    """
    started = time.monotonic()
    slot = slot or slot_for(timezone.now(), ref.interval_s, ref.system_id)
    collector = settings.SOLARMON_COLLECTOR
    outcome = PollOutcome(device=ref, ok=False)
    permanent = False
    try:
        reader = _reader(ref)
        with bus_locks(ref.buses, bus_wait_s(ref.interval_s)):
            reading = reader.read()
        tree = tree if tree is not None and tree.system_id == ref.system_id else system_tree(ref.system_id)
        if tree is None:
            raise AdapterError(f"system {ref.system_id} of {ref.kind} {ref.device_id} no longer exists")
        result = ingest.write(_rows(ref, reading, slot, tree))
        outcome = PollOutcome(device=ref, ok=True, adapter_id=reading.adapter_id or "", rows=result.rows,
                              written=result.written, flags=list(reading.flags))
    except BusBusy as exc:
        outcome.error, outcome.skipped = str(exc), True
    except AdapterError as exc:
        outcome.error, permanent = str(exc), exc.permanent
        outcome.adapter_id = _READERS[ref.key][1].active_adapter_id if ref.key in _READERS else ""
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    if outcome.ok:
        if status is None:
            outcome.others_pending = record_poll_success(
                ref.kind, ref.device_id, ref.system_id, ref.interval_s, timezone.now(), slot,
                outcome.adapter_id, outcome.duration_ms, collector, ref.fingerprint(), outcome.flags)
            if outcome.others_pending is not None:
                return outcome
        record_success(_status_for(ref, status), timezone.now(), slot, outcome.adapter_id,
                       outcome.duration_ms, collector, ref.fingerprint(), outcome.flags)
    elif outcome.skipped:
        record_missed(_status_for(ref, status), timezone.now(), outcome.error, collector)
    else:
        log.warning("poll of %s %s failed%s: %s", ref.kind, ref.device_id,
                    " for good" if permanent else "", outcome.error)
        record_failure(_status_for(ref, status), timezone.now(), outcome.error, outcome.duration_ms,
                       outcome.adapter_id, permanent=permanent, collector=collector,
                       fingerprint=ref.fingerprint())
    return outcome
