"""Array and system samples, derived after each tick from the freshest sample of each child.

Rules (ARCHITECTURE.md "Energy accounting", applied to live power):
- An array's PV, load and battery power are the sums over its inverters that reported within
  the freshness window; how many reported is stored beside the sum, so a partial sum shows.
- Grid flow is counted once: an array with its own meter takes its grid figure from that
  meter, else from the sum of its inverters; the system takes its grid figure from a
  system-level meter when there is one, else from the sum of its arrays.
- Battery SOC is the capacity-weighted SOC of the packs attached to the array (or of all
  packs for the system), falling back to the mean inverter SOC.
Only samples younger than a few of their own device's poll intervals are used (the same
rule that calls a device stale): an old value never enters a live total.

Each poll derives its slot right after its rows are committed; :func:`derive_missed` (run
every minute) derives the slots whose derivation never ran, such as when a worker died
between a sample commit and the totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from catalog.selectors import SystemTree, system_tree
from telemetry import models as t
from telemetry.choices import GridSource

WINDOW_INTERVALS = 3
# What the totals read of each sample (rows as named tuples: no model instances per sample).
INVERTER_COLUMNS = ("inverter_id", "ts", "pv_power_w", "load_power_w", "grid_power_w", "batt_power_w", "soc",
                    "batt_voltage_v", "batt_current_a")
METER_COLUMNS = ("meter_id", "ts", "grid_power_w")
PACK_COLUMNS = ("pack_id", "ts", "soc")


def _newest(rows: Iterable[Any], key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        device = getattr(row, key)
        if device not in out or row.ts > out[device].ts:
            out[device] = row
    return out


def _sum(values: Iterable[float | None]) -> int | None:
    present = [v for v in values if v is not None]
    return round(sum(present)) if present else None


def _weighted_soc(pairs: list[tuple[float | None, float | None]]) -> float | None:
    with_soc = [(soc, weight or 1.0) for soc, weight in pairs if soc is not None]
    if not with_soc:
        return None
    total = sum(w for _, w in with_soc)
    return round(sum(s * w for s, w in with_soc) / total, 2)


def _first_known(*values: float | None) -> float | None:
    """The first value that is not missing: an empty pack (0 %) is a value, not a gap."""
    return next((v for v in values if v is not None), None)


def _fresh(rows: dict[str, Any], kind: str, intervals: dict[tuple[str, str], float],
           ts: datetime) -> dict[str, Any]:
    """Drop samples older than a few of their own device's poll intervals."""
    return {device: row for device, row in rows.items()
            if (ts - row.ts).total_seconds() <= WINDOW_INTERVALS * intervals.get((kind, device), 10.0)}


def derive_samples(system_id: str, ts: datetime, tree: SystemTree | None = None) -> tuple[int, int]:
    """Upsert the array samples and the system sample of ``system_id`` at ``ts``.

    ``tree`` is the system's hierarchy when the caller holds it (else it is fetched).

    Returns (array rows, system rows) written.
    """
    tree = tree or system_tree(system_id)
    if tree is None:
        return 0, 0
    intervals = {(kind, device): interval for kind, device, interval in t.DeviceStatus.objects.filter(
        system_id=system_id).values_list("device_type", "device_id", "poll_interval_s")}
    since = ts - timedelta(seconds=WINDOW_INTERVALS * max(intervals.values(), default=10.0))
    # The window's rows of the tree's own devices, read through the key's time range: a filter on
    # system_id would let SQLite walk that index over every sample of the system still kept.
    window = {"ts__gt": since, "ts__lte": ts}
    inverters = _fresh(_newest(t.EnergySample.objects.filter(
        inverter_id__in=[i.inverter_id for i in tree.inverters], **window).values_list(
        *INVERTER_COLUMNS, named=True), "inverter_id"), "inverter", intervals, ts)
    meters = _fresh(_newest(t.MeterSample.objects.filter(
        meter_id__in=[m.meter_id for m in tree.meters], **window).values_list(
        *METER_COLUMNS, named=True), "meter_id"), "meter", intervals, ts)
    packs = _fresh(_newest(t.BatteryBankSample.objects.filter(
        pack_id__in=[p.pack_id for p in tree.packs], **window).values_list(
        *PACK_COLUMNS, named=True), "pack_id"), "battery_pack", intervals, ts)
    capacity = {p.pack_id: p.nominal_kwh for p in tree.packs}

    array_samples = []
    for array in tree.arrays:
        members = [inverters[i.inverter_id] for i in array.inverters if i.inverter_id in inverters]
        if not members:
            continue
        array_meters = [meters[mid] for mid in tree.grid_meters(array.array_id) if mid in meters]
        grid = (_sum(m.grid_power_w for m in array_meters) if array_meters
                else _sum(s.grid_power_w for s in members))
        its_packs = [packs[p.pack_id] for p in tree.packs_of(array.array_id) if p.pack_id in packs]
        soc = _first_known(_weighted_soc([(p.soc, capacity[p.pack_id]) for p in its_packs]),
                           _weighted_soc([(s.soc, None) for s in members]))
        voltages = [s.batt_voltage_v for s in members if s.batt_voltage_v is not None]
        array_samples.append(t.ArraySample(
            ts=ts, array_id=array.array_id, system_id=system_id,
            pv_power_w=_sum(s.pv_power_w for s in members),
            load_power_w=_sum(s.load_power_w for s in members),
            grid_power_w=grid, batt_power_w=_sum(s.batt_power_w for s in members), batt_soc_pct=soc,
            batt_voltage_v=round(sum(voltages) / len(voltages), 2) if voltages else None,
            batt_current_a=_sum(s.batt_current_a for s in members),
            inverters_reporting=len(members), inverters_total=len(array.inverters)))
    _upsert(t.ArraySample, array_samples, ["ts", "array"])

    system_meters = [meters[mid] for mid in tree.grid_meters(None) if mid in meters]
    if not array_samples and not system_meters:
        return len(array_samples), 0
    grid_source = GridSource.METER if system_meters else GridSource.INVERTERS
    grid = (_sum(m.grid_power_w for m in system_meters) if system_meters
            else _sum(a.grid_power_w for a in array_samples))
    system = t.SystemSample(
        ts=ts, system_id=system_id, pv_power_w=_sum(a.pv_power_w for a in array_samples),
        load_power_w=_sum(a.load_power_w for a in array_samples), grid_power_w=grid,
        batt_power_w=_sum(a.batt_power_w for a in array_samples),
        batt_soc_pct=_first_known(
            _weighted_soc([(p.soc, capacity.get(p.pack_id)) for p in packs.values()]),
            _weighted_soc([(a.batt_soc_pct, None) for a in array_samples])),
        grid_source=grid_source)
    _upsert(t.SystemSample, [system], ["ts", "system"])
    return len(array_samples), 1


def _upsert(model: Any, rows: list[Any], keys: list[str]) -> None:
    if not rows:
        return
    fields = [f.name for f in model._meta.concrete_fields if f.name not in keys and not f.primary_key]
    model.objects.bulk_create(rows, update_conflicts=True, unique_fields=keys, update_fields=fields)


def derive_missed(system_id: str, since: datetime, until: datetime) -> int:
    """Derive the slots in (since, until] that have inverter or system-meter samples but no
    system sample; returns how many. Those samples always yield a system row, so a slot is
    never derived twice."""
    tree = system_tree(system_id)
    if tree is None:
        return 0
    window = {"ts__gt": since, "ts__lte": until}  # the key's time range, as in derive_samples
    have = set(t.SystemSample.objects.filter(system_id=system_id, **window).values_list("ts", flat=True))
    wanted = set(t.EnergySample.objects.filter(
        inverter_id__in=[i.inverter_id for i in tree.inverters], **window).values_list(
        "ts", flat=True).distinct())
    wanted |= set(t.MeterSample.objects.filter(
        meter_id__in=tree.grid_meters(None), **window).values_list("ts", flat=True).distinct())
    missing = sorted(wanted - have)
    for ts in missing:
        derive_samples(system_id, ts, tree)
    return len(missing)
