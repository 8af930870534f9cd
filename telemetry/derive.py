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

from collections import namedtuple
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.selectors import SystemTree, system_tree
from telemetry import models as t
from telemetry.choices import GridSource
from telemetry.statements import execute
from telemetry.upsert import upsert

WINDOW_INTERVALS = 3
# What the totals read of each sample, the device's column and the time first (rows as named
# tuples: no model instances per sample).
INVERTER_COLUMNS = ("inverter_id", "ts", "pv_power_w", "load_power_w", "grid_power_w", "batt_power_w", "soc",
                    "batt_voltage_v", "batt_current_a")
METER_COLUMNS = ("meter_id", "ts", "grid_power_w")
PACK_COLUMNS = ("pack_id", "ts", "soc")


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
    intervals = _intervals(system_id)
    since = ts - timedelta(seconds=WINDOW_INTERVALS * max(intervals.values(), default=10.0))
    inverters = _fresh(_newest_in_window(t.EnergySample, INVERTER_COLUMNS,
                                         [i.inverter_id for i in tree.inverters], since, ts),
                       "inverter", intervals, ts)
    meters = _fresh(_newest_in_window(t.MeterSample, METER_COLUMNS, [m.meter_id for m in tree.meters],
                                      since, ts), "meter", intervals, ts)
    packs = _fresh(_newest_in_window(t.BatteryBankSample, PACK_COLUMNS, [p.pack_id for p in tree.packs],
                                     since, ts), "battery_pack", intervals, ts)
    capacity = {p.pack_id: p.nominal_kwh for p in tree.packs}

    array_rows: list[dict[str, Any]] = []
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
        array_rows.append({
            "ts": ts, "array_id": array.array_id, "system_id": system_id,
            "pv_power_w": _sum(s.pv_power_w for s in members),
            "load_power_w": _sum(s.load_power_w for s in members),
            "grid_power_w": grid, "batt_power_w": _sum(s.batt_power_w for s in members), "batt_soc_pct": soc,
            "batt_voltage_v": round(sum(voltages) / len(voltages), 2) if voltages else None,
            "batt_current_a": _sum(s.batt_current_a for s in members),
            "inverters_reporting": len(members), "inverters_total": len(array.inverters)})
    if array_rows:
        upsert(t.ArraySample, array_rows)

    system_meters = [meters[mid] for mid in tree.grid_meters(None) if mid in meters]
    if not array_rows and not system_meters:
        return len(array_rows), 0
    grid_source = GridSource.METER if system_meters else GridSource.INVERTERS
    grid = (_sum(m.grid_power_w for m in system_meters) if system_meters
            else _sum(a["grid_power_w"] for a in array_rows))
    upsert(t.SystemSample, [{
        "ts": ts, "system_id": system_id, "pv_power_w": _sum(a["pv_power_w"] for a in array_rows),
        "load_power_w": _sum(a["load_power_w"] for a in array_rows), "grid_power_w": grid,
        "batt_power_w": _sum(a["batt_power_w"] for a in array_rows),
        "batt_soc_pct": _first_known(
            _weighted_soc([(p.soc, capacity.get(p.pack_id)) for p in packs.values()]),
            _weighted_soc([(a["batt_soc_pct"], None) for a in array_rows])),
        "grid_source": grid_source}])
    return len(array_rows), 1


# Plain SQL for what derivation reads and writes: it runs for every system at every slot, and
# building ORM queries and model instances cost more than the statements themselves.
_INTERVALS_SQL = (f"SELECT device_type, device_id, poll_interval_s FROM {t.DeviceStatus._meta.db_table} "
                  "WHERE system_id = %s")


def _intervals(system_id: str) -> dict[tuple[str, str], float]:
    """Each device's poll interval, by (kind, id), as its status row holds it."""
    with connection.cursor() as cursor:
        execute(cursor, _INTERVALS_SQL, [system_id])
        return {(kind, device): interval for kind, device, interval in cursor.fetchall()}


_ROWS: dict[tuple[str, ...], Any] = {
    columns: namedtuple("Row", columns) for columns in (INVERTER_COLUMNS, METER_COLUMNS, PACK_COLUMNS)}


def _newest_in_window(model: Any, columns: tuple[str, ...], ids: list[str], since: datetime,
                      ts: datetime) -> dict[str, Any]:
    """The newest row in (``since``, ``ts``] of each of ``ids`` (``columns[0]`` is the device's,
    ``columns[1]`` the time), as a named tuple.

    Read newest first, and only until every device has its row: the window is read through the
    samples' time key (a filter on system_id would walk that index over every sample of the
    system still kept), and holds the rows of every device of every system polled in it, so at
    500 devices reading it whole cost more than the rest of the derivation. SQLite steps the
    scan as rows are fetched, so a slot all devices reported reads little more than its rows.
    """
    if not ids:
        return {}
    quote = connection.ops.quote_name
    sql = (f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)} "
           f"WHERE {quote(columns[0])} IN ({', '.join(['%s'] * len(ids))}) AND ts > %s AND ts <= %s "
           "ORDER BY ts DESC")
    adapt = connection.ops.adapt_datetimefield_value
    wanted = set(ids)
    newest: dict[str, Any] = {}
    with connection.cursor() as cursor:
        execute(cursor, sql, [*ids, adapt(since), adapt(ts)])
        while len(newest) < len(wanted) and (rows := cursor.fetchmany(len(wanted))):
            for row in rows:
                newest.setdefault(row[0], row)
    make = _ROWS[columns]
    return {device: make(device, _as_datetime(row[1]), *row[2:]) for device, row in newest.items()}


def _as_datetime(value: Any) -> datetime:
    """A time as the driver returned it (SQLite: text in UTC), as an aware datetime."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, connection.timezone)
    parsed = parse_datetime(str(value))
    assert parsed is not None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, connection.timezone)


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
