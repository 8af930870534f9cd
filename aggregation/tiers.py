"""Writing and reading the 5-minute tiers (:mod:`aggregation.tier_models`).

Inverters, meters and packs: a tier row is the slot aggregate of :mod:`aggregation.sql` kept
losslessly for what the rollups need (energies, samples, covered seconds, source, and per
statistic its average, count, minimum and maximum; a sum is the average times the count), so
hourly and daily rows rebuilt from tiers are the rows rebuilt from raw samples. Arrays, the
system and cells: plain averages and extremes per slot, grouped in SQL from their sample rows.

Every write *replaces* a time range: the range's rows of the devices concerned are deleted and
written again, so a rerun gives the same rows and rows of samples that are gone disappear.
With the cell tiers go the cells' local days (``battery_cell_daily``): a day is summed up from
its cell tier rows when a write completes it, and again whenever it is rewritten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import connection

from aggregation import tier_models as tm
from aggregation.buckets import SLOT_S, Day, from_db, local_date, local_day, slot_of, slot_start
from aggregation.stats import Agg
from aggregation.topology import Topology
from telemetry.upsert import upsert

SlotAggs = dict[tuple[str, int], Agg]


@dataclass(frozen=True)
class EnergyTierSpec:
    """How one kind of device's slot aggregates map onto its tier table."""

    kind: str  # the DayData kind: "inv", "meter" or "pack"
    model: type[tm.EnergyTier]
    device: str  # the device id column
    energies: Mapping[str, str]  # flow → energy column
    stats: Mapping[str, str]  # statistic alias → column prefix (``<prefix>_avg`` …)

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def columns(self) -> list[str]:
        cols = ["ts", self.device, "sample_count", "covered_s", "source", "glitches", *self.energies.values()]
        for prefix in self.stats.values():
            cols += [f"{prefix}_avg", f"{prefix}_n", f"{prefix}_min", f"{prefix}_max"]
        return cols


ENERGY_TIERS = {
    "inv": EnergyTierSpec(
        "inv", tm.InverterTier, "inverter_id",
        {"pv": "solar_energy_kwh", "load": "load_energy_kwh", "charge": "battery_charge_energy_kwh",
         "discharge": "battery_discharge_energy_kwh", "import": "grid_import_energy_kwh",
         "export": "grid_export_energy_kwh"},
        {"p_pv": "pv_power_w", "p_load": "load_power_w", "p_batt": "batt_power_w", "p_grid": "grid_power_w",
         "soc": "soc"}),
    "meter": EnergyTierSpec(
        "meter", tm.MeterTier, "meter_id",
        {"import": "grid_import_energy_kwh", "export": "grid_export_energy_kwh"},
        {"p_grid": "grid_power_w", "volt": "grid_voltage_v", "amp": "grid_current_a",
         "freq": "grid_frequency_hz"}),
    "pack": EnergyTierSpec(
        "pack", tm.PackTier, "pack_id",
        {"charge": "charge_energy_kwh", "discharge": "discharge_energy_kwh"},
        {"p_batt": "power_w", "soc": "soc", "volt": "voltage", "amp": "current", "temp": "temperature",
         "cellv": "cell_voltage"}),
}


# ---- inverters, meters, packs: slot aggregates ⇄ rows ------------------------------------
def to_row(spec: EnergyTierSpec, device_id: str, slot: int, agg: Agg, system_id: str) -> dict[str, Any]:
    """The tier row of one device's slot aggregate."""
    from aggregation.stats import source

    row: dict[str, Any] = {"ts": slot_start(slot), spec.device: device_id, "system_id": system_id,
                           "sample_count": int(agg.get("n") or 0), "covered_s": float(agg.get("cov") or 0.0),
                           "source": source(agg, tuple(spec.energies)),
                           "glitches": sum(int(v) for k, v in agg.items() if k.startswith("gl_") and v)}
    for flow, column in spec.energies.items():
        row[column] = float(agg.get(f"e_{flow}") or 0.0)
    for alias, prefix in spec.stats.items():
        count = int(agg.get(f"cnt_{alias}") or 0)
        row[f"{prefix}_n"] = count
        row[f"{prefix}_avg"] = agg[f"sum_{alias}"] / count if count else None
        row[f"{prefix}_min"] = agg.get(f"min_{alias}")
        row[f"{prefix}_max"] = agg.get(f"max_{alias}")
    return row


def to_agg(spec: EnergyTierSpec, values: Mapping[str, Any]) -> Agg:
    """The slot aggregate a tier row stands for (the inverse of :func:`to_row`)."""
    agg: Agg = {"n": values["sample_count"], "cov": values["covered_s"], "gl_slot": values["glitches"] or 0}
    for flow, column in spec.energies.items():
        agg[f"e_{flow}"] = values[column] or 0.0
    # The source of a sum of slots is the union of their sources: one flow standing for all.
    first = next(iter(spec.energies))
    source = values["source"]
    agg[f"nc_{first}"] = 1 if source in ("counter", "mixed") else 0
    agg[f"ni_{first}"] = 1 if source in ("integrated", "mixed") else 0
    for alias, prefix in spec.stats.items():
        count, average = values[f"{prefix}_n"] or 0, values[f"{prefix}_avg"]
        agg[f"cnt_{alias}"] = count
        agg[f"sum_{alias}"] = average * count if count and average is not None else None
        agg[f"min_{alias}"] = values[f"{prefix}_min"]
        agg[f"max_{alias}"] = values[f"{prefix}_max"]
    return agg


# The device types of ``telemetry.choices.DeviceKind`` behind the slot kinds.
DEVICE_TYPES = {"inv": "inverter", "pack": "battery_pack", "meter": "meter"}


def glitches_between(topo: Topology, start: datetime, end: datetime) -> dict[tuple[str, str], int]:
    """Counter readings rejected in [start, end) per (device type, device id), from the tiers;
    every device of the system included (0 when clean)."""
    devices = {"inv": [i.pk for i in topo.inverters], "meter": [mt.pk for mt in topo.meters],
               "pack": [p.pk for p in topo.packs]}
    out: dict[tuple[str, str], int] = {}
    for kind, spec in ENERGY_TIERS.items():
        if not devices[kind]:
            continue
        out.update({(DEVICE_TYPES[kind], dev): 0 for dev in devices[kind]})
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {spec.device}, SUM(glitches) FROM {spec.table} "
                           f"WHERE {spec.device} IN ({_in(devices[kind])}) AND ts >= %s AND ts < %s "
                           f"GROUP BY {spec.device}", [*devices[kind], *_bounds(start, end)])
            for dev, count in cursor.fetchall():
                out[DEVICE_TYPES[kind], dev] = int(count or 0)
    return out


def _bounds(start: datetime, end: datetime) -> list[Any]:
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(start), adapt(end)]


def _in(values: list[str]) -> str:
    return ", ".join(["%s"] * len(values))


def replace_energy_tiers(spec: EnergyTierSpec, system_id: str, devices: list[str], start: datetime,
                         end: datetime, slots: SlotAggs, *, fresh: bool = False) -> int:
    """Replace the devices' tier rows of the slots in [start, end) by ``slots``; returns rows written.

    ``fresh``: the range has no tier rows yet, nothing to delete first (see replace_stat_tier).
    """
    if not devices:
        return 0
    first, last = slot_of(start), slot_of(end)
    if not fresh:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {spec.table} WHERE {spec.device} IN ({_in(devices)}) "
                           "AND ts >= %s AND ts < %s", [*devices, *_bounds(start, end)])
    rows = [to_row(spec, dev, slot, agg, system_id) for (dev, slot), agg in sorted(slots.items())
            if first <= slot < last and dev in devices]
    return upsert(spec.model, rows)


def read_energy_tiers(spec: EnergyTierSpec, devices: list[str], start: datetime, end: datetime) -> SlotAggs:
    """The devices' slot aggregates of [start, end), from their tier rows."""
    if not devices:
        return {}
    columns = spec.columns()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {spec.table} "
                       f"WHERE {spec.device} IN ({_in(devices)}) AND ts >= %s AND ts < %s",
                       [*devices, *_bounds(start, end)])
        fetched = cursor.fetchall()
    out: SlotAggs = {}
    for values in fetched:
        row = dict(zip(columns, values, strict=True))
        out[(row[spec.device], _slot(row["ts"]))] = to_agg(spec, row)
    return out


def _slot(value: Any) -> int:
    """The slot of a ``ts`` value as a raw query returns it."""
    return slot_of(from_db(value))


# ---- arrays, the system, cells: grouped in SQL -------------------------------------------
def slot_start_sql(column: str = "ts") -> str:
    """The UTC start of the 5-minute slot holding ``column``, as the database stores a ``ts``."""
    if connection.vendor == "postgresql":
        return f"to_timestamp(floor(date_part('epoch', {column}) / {SLOT_S}) * {SLOT_S})"
    return f"datetime(unixepoch({column}) / {SLOT_S} * {SLOT_S}, 'unixepoch')"


def _stats_sql(columns: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Target columns and their aggregates: average, minimum and maximum of each source column."""
    targets, exprs = [], []
    for source, prefix in columns.items():
        targets += [f"{prefix}_avg", f"{prefix}_min", f"{prefix}_max"]
        exprs += [f"AVG({source})", f"MIN({source})", f"MAX({source})"]
    return targets, exprs


POWERS = {"pv_power_w": "pv_power_w", "load_power_w": "load_power_w", "batt_power_w": "batt_power_w",
          "grid_power_w": "grid_power_w", "batt_soc_pct": "soc"}


@dataclass(frozen=True)
class StatTierSpec:
    """A tier grouped in SQL from one sample table."""

    model: type[tm.Tier]
    source_table: str
    device: str  # the device column, in both tables
    keep: tuple[str, ...]  # further id columns copied from the samples
    stats: Mapping[str, str]  # source expression → target prefix

    @property
    def table(self) -> str:
        return self.model._meta.db_table


STAT_TIERS = {
    "array": StatTierSpec(tm.ArrayTier, "array_samples", "array_id", ("system_id",), POWERS),
    "system": StatTierSpec(tm.SystemTier, "system_samples", "system_id", (), POWERS),
    "cell": StatTierSpec(tm.CellTier, "battery_cell_samples", "cell_id", ("pack_id",), {}),
}
CELL_EXTREMES = {  # a cell row keeps the extremes of its detail interval (telemetry.ingest)
    "voltage_avg": "AVG(voltage)", "voltage_min": "MIN(COALESCE(voltage_min, voltage))",
    "voltage_max": "MAX(COALESCE(voltage_max, voltage))", "temperature_avg": "AVG(temperature)",
    "temperature_min": "MIN(COALESCE(temperature_min, temperature))",
    "temperature_max": "MAX(COALESCE(temperature_max, temperature))",
}


def replace_stat_tier(spec: StatTierSpec, filter_column: str, ids: list[str], start: datetime,
                      end: datetime, *, fresh: bool = False) -> None:
    """Regroup the rows of [start, end) whose ``filter_column`` is one of ``ids``.

    ``fresh``: the range has no tier rows yet (slots the periodic rollup closes for the first
    time), so there is nothing to delete first; a row that is there after all is overwritten.
    """
    if not ids:
        return
    delete, insert = _stat_tier_sql(spec, filter_column, len(ids))
    params = [*ids, *_bounds(start, end)]
    with connection.cursor() as cursor:
        if not fresh:
            cursor.execute(delete, params)
        cursor.execute(insert, params)


def _stat_tier_sql(spec: StatTierSpec, filter_column: str, ids: int, returning: str = "") -> tuple[str, str]:
    """(DELETE, INSERT … SELECT) that regroup one stat tier over a range, for ``ids`` devices of
    ``filter_column``; parameters: the ids, then the range's bounds. ``returning``: columns the
    INSERT returns of the rows it wrote."""
    targets, exprs = _stats_sql(spec.stats)
    if spec.model is tm.CellTier:
        targets, exprs = list(CELL_EXTREMES), list(CELL_EXTREMES.values())
    cols = ["ts", spec.device, *spec.keep, "sample_count", *targets]
    keys = [slot_start_sql(), spec.device, *spec.keep]
    update = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in ("ts", spec.device))
    marks = _in(["id"] * ids)
    delete = (f"DELETE FROM {spec.table} WHERE {_tier_filter(spec, filter_column)} "
              f"IN ({marks}) AND ts >= %s AND ts < %s")
    insert = (f"INSERT INTO {spec.table} ({', '.join(cols)}) "
              f"SELECT {', '.join(keys)}, COUNT(*), {', '.join(exprs)} "
              f"FROM {spec.source_table} WHERE {filter_column} IN ({marks}) AND ts >= %s AND ts < %s "
              f"GROUP BY {', '.join(keys)} ON CONFLICT (ts, {spec.device}) DO UPDATE SET {update}")
    return delete, insert + (f" RETURNING {returning}" if returning else "")


def _tier_filter(spec: StatTierSpec, filter_column: str) -> str:
    """The column of the tier table that ``filter_column`` of the samples lands in."""
    if filter_column == spec.device or filter_column in spec.keep:
        return filter_column
    raise ValueError(f"{spec.table} has no column {filter_column}")


def replace_stat_tiers(topo: Topology, start: datetime, end: datetime, *, fresh: bool = False
                       ) -> tuple[Counter[str], Counter[str]]:
    """The array, system and cell tiers of one system over [start, end).

    Returns the tier rows written and the samples behind them, per table (one query for all).
    """
    parts = [(STAT_TIERS[kind], column, ids) for kind, column, ids in (
        ("array", "array_id", [a.pk for a in topo.arrays]), ("system", "system_id", [topo.system.pk]),
        ("cell", "pack_id", [p.pk for p in topo.packs])) if ids]
    for spec, column, ids in parts:
        replace_stat_tier(spec, column, ids, start, end, fresh=fresh)
    if topo.packs:
        replace_cell_days(topo, start, end, fresh=fresh)
    written: Counter[str] = Counter()
    read: Counter[str] = Counter()
    if not parts:
        return written, read
    selects, params = [], []
    for n, (spec, column, ids) in enumerate(parts):
        selects.append(f"SELECT {n}, COUNT(*), SUM(sample_count) FROM {spec.table} "
                       f"WHERE {_tier_filter(spec, column)} IN ({_in(ids)}) AND ts >= %s AND ts < %s")
        params += [*ids, *_bounds(start, end)]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), params)
        for n, rows, samples in cursor.fetchall():
            spec = parts[int(n)][0]
            written[spec.table] += int(rows or 0)
            read[spec.source_table] += int(samples or 0)
    return written, read


# ---- cells: a summary per local day --------------------------------------------------
def _cell_daily_sql(packs: int, source: str = "battery_cell_samples_5min", target: str = "battery_cell_daily"
                    ) -> str:
    """Each cell's day from its tier rows: averages weighted by samples, extremes, and the slot of
    its lowest voltage (the first, if it was reached more than once). ``source`` and ``target``:
    other tables of the same columns (an import stages a day in temporary tables)."""
    def stats(name: str) -> str:
        weight = f"CASE WHEN {name}_avg IS NULL THEN 0 ELSE sample_count END"
        return (f"SUM({name}_avg * sample_count) / NULLIF(SUM({weight}), 0), SUM({weight}), "
                f"MIN({name}_min), MAX({name}_max)")
    return (
        f"INSERT INTO {target} (pack_id, date, cell_id, sample_count, voltage_avg, voltage_n, "
        "voltage_min, voltage_max, temperature_avg, temperature_n, temperature_min, temperature_max, "
        "voltage_min_at) "
        f"SELECT pack_id, %s, cell_id, SUM(sample_count), {stats('voltage')}, {stats('temperature')}, "
        "MIN(CASE WHEN lowest = 1 AND voltage_min IS NOT NULL THEN ts END) "
        "FROM (SELECT pack_id, cell_id, ts, sample_count, voltage_avg, voltage_min, voltage_max, "
        "temperature_avg, temperature_min, temperature_max, ROW_NUMBER() OVER (PARTITION BY cell_id "
        "ORDER BY CASE WHEN voltage_min IS NULL THEN 1 ELSE 0 END, voltage_min, ts) AS lowest "
        f"FROM {source} WHERE pack_id IN ({_in(['p'] * packs)}) AND ts >= %s AND ts < %s"
        ") slots GROUP BY pack_id, cell_id")


def replace_cell_day(packs: list[str], day: Day) -> int:
    """Replace the packs' cell days of ``day`` by a summary of their cell tier rows; cells written.

    A day whose cell tiers are gone (past ``SOLARMON_CELL_TIER_RETENTION_DAYS``) keeps its summary:
    it is all that is left of it.
    """
    if not packs:
        return 0
    bounds = [*packs, *_bounds(day.start_utc, day.end_utc)]
    where = f"pack_id IN ({_in(packs)}) AND ts >= %s AND ts < %s"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM battery_cell_samples_5min WHERE {where} LIMIT 1", bounds)
        if cursor.fetchone() is None:
            return 0
        on = connection.ops.adapt_datefield_value(day.date)
        cursor.execute(f"DELETE FROM battery_cell_daily WHERE pack_id IN ({_in(packs)}) AND date = %s",
                       [*packs, on])
        cursor.execute(_cell_daily_sql(len(packs)), [on, *bounds])
        return max(cursor.rowcount, 0)


def replace_cell_days(topo: Topology, start: datetime, end: datetime, *, fresh: bool = False) -> int:
    """The cell days of the system's packs that [start, end) completes (the periodic rollup closes
    a day once, with its last slots), or, when the range is rolled up again (``fresh`` False),
    every day it touches; cells written."""
    packs = [p.pk for p in topo.packs]
    written = 0
    on = local_date(start, topo.tz)
    while (day := local_day(on, topo.tz)).start_utc < end:
        if not fresh or start < day.end_utc <= end:
            written += replace_cell_day(packs, day)
        on += timedelta(days=1)
    return written


def cell_spread(packs: list[str], start: datetime, end: datetime,
                source: str = "battery_cell_samples_5min") -> SlotAggs:
    """Per (pack, slot) the band of its cells, from the cell tiers (or ``source``, a table of the
    same columns: an import's staged day): ``min_/max_/sum_/cnt_cellv``."""
    if not packs:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pack_id, ts, MIN(voltage_min), MAX(voltage_max), "
                       "SUM(voltage_avg * sample_count), "
                       "SUM(CASE WHEN voltage_avg IS NULL THEN 0 ELSE sample_count END) "
                       f"FROM {source} WHERE pack_id IN ({_in(packs)}) "
                       "AND ts >= %s AND ts < %s GROUP BY pack_id, ts", [*packs, *_bounds(start, end)])
        found = cursor.fetchall()
    return {(pack, _slot(ts)): {"min_cellv": low, "max_cellv": high, "sum_cellv": total, "cnt_cellv": count}
            for pack, ts, low, high, total, count in found}


# ---- a day's figures from its tiers, aggregated in SQL -----------------------------------
def _epoch(column: str = "ts") -> str:
    if connection.vendor == "postgresql":
        return f"date_part('epoch', {column})"
    return f"unixepoch({column})"


def _aggregate_columns(spec: EnergyTierSpec) -> tuple[list[str], list[str]]:
    """(Agg keys, SQL aggregates) that merge tier rows exactly as :func:`aggregation.stats.merge` would."""
    first = next(iter(spec.energies))
    keys = ["n", "cov", f"nc_{first}", f"ni_{first}"]
    exprs = ["SUM(sample_count)", "SUM(covered_s)",
             "MAX(CASE WHEN source IN ('counter', 'mixed') THEN 1 ELSE 0 END)",
             "MAX(CASE WHEN source IN ('integrated', 'mixed') THEN 1 ELSE 0 END)"]
    for flow, column in spec.energies.items():
        keys.append(f"e_{flow}")
        exprs.append(f"SUM({column})")
    for alias, prefix in spec.stats.items():
        keys += [f"sum_{alias}", f"cnt_{alias}", f"min_{alias}", f"max_{alias}"]
        exprs += [f"SUM({prefix}_avg * {prefix}_n)", f"SUM({prefix}_n)", f"MIN({prefix}_min)",
                  f"MAX({prefix}_max)"]
    return keys, exprs


QUARTER_S = SLOT_S * 3


def quarter_aggregates(devices: list[str], start: datetime, end: datetime) -> dict[tuple[str, int], Agg]:
    """Inverter powers per (inverter, quarter hour counted from ``start``), for the peaks of sums."""
    if not devices:
        return {}
    spec = ENERGY_TIERS["inv"]
    names = ("p_pv", "p_load", "p_grid")
    exprs = [f"SUM({spec.stats[n]}_avg * {spec.stats[n]}_n), SUM({spec.stats[n]}_n)" for n in names]
    quarter = f"CAST(FLOOR(({_epoch()} - %s) / {QUARTER_S}) AS INTEGER)"  # PostgreSQL's CAST rounds
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT inverter_id, {quarter} AS q, {', '.join(exprs)} FROM {spec.table} "
                       f"WHERE inverter_id IN ({_in(devices)}) AND ts >= %s AND ts < %s "
                       "GROUP BY inverter_id, q",
                       [start.timestamp(), *devices, *_bounds(start, end)])
        found = cursor.fetchall()
    out: dict[tuple[str, int], Agg] = {}
    for dev, q, *values in found:
        agg: Agg = {}
        for i, name in enumerate(names):
            agg[f"sum_{name}"], agg[f"cnt_{name}"] = values[2 * i], values[2 * i + 1]
        out[(dev, int(q))] = agg
    return out


# ---- the periodic rollup: a statement per tier and kind, over the new slots only ------------
@lru_cache(maxsize=64)
def _closing_sql(kind: str, filter_column: str, ids: int, vendor: str, fresh: bool) -> tuple[str, str]:
    """(DELETE or nothing when ``fresh``, INSERT … SELECT … RETURNING) of one stat tier over a
    range (:func:`_stat_tier_sql`); the INSERT returns what it wrote, and for cells what the packs'
    band needs. Cached: the statement depends on the vendor's slot expression."""
    spec = STAT_TIERS[kind]
    returned = "sample_count"
    if spec.model is tm.CellTier:
        returned = "pack_id, ts, sample_count, voltage_avg, voltage_min, voltage_max"
    delete, insert = _stat_tier_sql(spec, filter_column, ids, returned)
    return ("" if fresh else delete), insert


def close_stat_tiers(topo: Topology, start: datetime, end: datetime, *, fresh: bool = False
                     ) -> tuple[Counter[str], Counter[str], SlotAggs]:
    """The array, system and cell tiers of one system over [start, end), for the periodic rollup
    (the rows of :func:`replace_stat_tiers`).

    One INSERT … SELECT per tier, which returns what it wrote: no count query after it, and the
    packs' cell band per slot (as :func:`cell_spread` reads it) from the cell rows it returned.
    Returns the tier rows written and the samples behind them per table, and the cell band.
    """
    parts = [(kind, column, ids) for kind, column, ids in (
        ("array", "array_id", [a.pk for a in topo.arrays]), ("system", "system_id", [topo.system.pk]),
        ("cell", "pack_id", [p.pk for p in topo.packs])) if ids]
    written: Counter[str] = Counter()
    read: Counter[str] = Counter()
    band: SlotAggs = {}
    bounds = _bounds(start, end)
    with connection.cursor() as cursor:
        for kind, column, ids in parts:
            spec = STAT_TIERS[kind]
            delete, insert = _closing_sql(kind, column, len(ids), connection.vendor, fresh)
            if delete:
                cursor.execute(delete, [*ids, *bounds])
            cursor.execute(insert, [*ids, *bounds])
            rows = cursor.fetchall()
            written[spec.table] += len(rows)
            if kind != "cell":
                read[spec.source_table] += sum(int(r[0] or 0) for r in rows)
                continue
            read[spec.source_table] += sum(int(r[2] or 0) for r in rows)
            band = _cell_band(rows)
    if topo.packs:
        replace_cell_days(topo, start, end, fresh=fresh)
    return written, read, band


def _cell_band(rows: list[tuple[Any, ...]]) -> SlotAggs:
    """Per (pack, slot) the band of its cells from cell tier rows (pack, ts, samples, voltage
    average, minimum, maximum): what :func:`cell_spread` groups in SQL."""
    out: SlotAggs = {}
    slots: dict[Any, int] = {}  # a run's rows share a few slots: each ``ts`` parsed once
    for pack, ts, count, average, low, high in rows:
        slot = slots.get(ts)
        if slot is None:
            slot = slots[ts] = _slot(ts)
        key = (pack, slot)
        band = out.get(key)
        if band is None:
            band = out[key] = {"min_cellv": None, "max_cellv": None, "sum_cellv": None, "cnt_cellv": 0}
        if low is not None and (band["min_cellv"] is None or low < band["min_cellv"]):
            band["min_cellv"] = low
        if high is not None and (band["max_cellv"] is None or high > band["max_cellv"]):
            band["max_cellv"] = high
        if average is not None:
            band["sum_cellv"] = (band["sum_cellv"] or 0.0) + average * count
            band["cnt_cellv"] += count
    return out


def _null_type(key: str) -> str:
    """The SQL type of an aggregate of :func:`_aggregate_columns` by its key (sums of counts are
    BIGINT, the source flags INTEGER, the rest DOUBLE PRECISION)."""
    if key == "n" or key.startswith("cnt_"):
        return "BIGINT"
    if key.startswith(("nc_", "ni_")):
        return "INTEGER"
    return "DOUBLE PRECISION"


@lru_cache(maxsize=64)
def _hours_sql(kinds: tuple[tuple[str, int], ...], hours: int, vendor: str) -> tuple[str, list[list[str]]]:
    """Each kind's devices' aggregates per hour (of ``hours`` consecutive ones) from their tier
    rows, every kind in one statement: per kind a grouped SELECT, in a UNION ALL whose columns
    give each kind slots of its own (NULL in the others' rows), so no column mixes types; each
    row also carries its glitches. ``kinds``: (kind, number of devices)."""
    which = "CASE " + " ".join(f"WHEN ts < %s THEN {n}" for n in range(hours - 1)) + f" ELSE {hours - 1} END"
    if hours == 1:
        which = "0"
    columns = [_aggregate_columns(ENERGY_TIERS[kind]) for kind, _ in kinds]
    # A NULL of each slot's own type: PostgreSQL types a column of NULLs as text otherwise.
    nulls = [f"CAST(NULL AS {_null_type(key)})" for keys, _ in columns for key in keys]
    parts, before = [], 0
    for n, ((kind, devices), (_, exprs)) in enumerate(zip(kinds, columns, strict=True)):
        spec = ENERGY_TIERS[kind]
        cells = nulls[:before] + exprs + nulls[before + len(exprs):]
        parts.append(f"SELECT {n} AS k, {spec.device} AS dev, {which} AS h, SUM(glitches) AS g, "
                     f"{', '.join(cells)} FROM {spec.table} "
                     f"WHERE {spec.device} IN ({_in(['d'] * devices)}) AND ts >= %s AND ts < %s "
                     f"GROUP BY {spec.device}, h")
        before += len(exprs)
    return " UNION ALL ".join(parts), [keys for keys, _ in columns]


def kind_hour_aggregates(devices: Mapping[str, list[str]], hours: list[tuple[datetime, datetime]]
                         ) -> tuple[dict[str, dict[str, dict[int, Agg]]], dict[tuple[str, str], int]]:
    """Each device's aggregate of each of the consecutive ``hours`` ((start, end) in UTC), merged
    from its tier rows in the database, for every kind in one query:
    kind → device → hour index → agg; and the counter glitches of the hours per (device type,
    device id), every device included (as :func:`glitches_between`)."""
    kinds = tuple((kind, len(ids)) for kind, ids in devices.items() if ids)
    out: dict[str, dict[str, dict[int, Agg]]] = {kind: {} for kind in devices}
    glitches = {(DEVICE_TYPES[kind], dev): 0 for kind, ids in devices.items() for dev in ids}
    if not kinds or not hours:
        return out, glitches
    sql, keys = _hours_sql(kinds, len(hours), connection.vendor)
    adapt = connection.ops.adapt_datetimefield_value
    cuts = [adapt(hour_end) for _, hour_end in hours[:-1]]
    params: list[Any] = []
    for kind, _ in kinds:
        params += [*cuts, *devices[kind], *_bounds(hours[0][0], hours[-1][1])]
    offsets, at = [], 0
    for names in keys:
        offsets.append(at)
        at += len(names)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    for n, dev, h, count, *values in found:
        kind, names, at = kinds[int(n)][0], keys[int(n)], offsets[int(n)]
        mine = zip(names, values[at:at + len(names)], strict=True)
        out[kind].setdefault(dev, {})[int(h)] = {k: v for k, v in mine if v is not None}
        glitches[DEVICE_TYPES[kind], dev] += int(count or 0)
    return out, glitches
