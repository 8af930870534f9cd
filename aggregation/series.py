"""Series of one device, array or system over any range, from the right source for the range.

Short ranges that the raw window still holds read raw samples (``SOLARMON_SERIES_RAW_MAX_HOURS``,
6 h by default); ranges up to ``SOLARMON_SERIES_TIER_MAX_DAYS`` (10 days) read the 5-minute tiers,
longer ones the hourly rollups; with either, the buckets from the system's open span on (the hour
holding the last closed slot) read the raw samples. Whatever the source, at most ``points``
(≤ 1000) buckets come back, every bucket of the range in order (an empty one has ``samples`` 0 and
null values, so gaps are explicit), each with the average of every quantity and, where the source keeps them,
its minimum and maximum (the band a chart draws). Times are UTC; ``timezone`` is the system's,
for labelling local hours and days. Long ranges never scan raw samples.

Quantities per kind (names as in the raw sample tables): inverters, arrays and systems have
``pv_power_w``, ``load_power_w``, ``batt_power_w``, ``grid_power_w`` and their SOC (``soc``,
``batt_soc_pct``); packs ``power_w``, ``soc``, ``voltage``, ``current``, ``temperature`` and
``cell_voltage``, the band of their cells (lowest, mean, highest cell); meters ``grid_power_w``,
``grid_voltage_v``, ``grid_current_a``, ``grid_frequency_hz``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from aggregation.buckets import from_db
from aggregation.selectors import open_start
from aggregation.topology import Topology
from catalog import models as catalog
from telemetry.series import (
    MAX_POINTS,
    RAW,
    RAW_CELL_BAND,
    Buckets,
    Column,
    Source,
    bucket_rows,
    points_of,
    step_for,
)

OWNERS: dict[str, type[Any]] = {"inverter": catalog.Inverter, "meter": catalog.Meter,
                                "battery_pack": catalog.BatteryPack, "array": catalog.InverterArray,
                                "system": catalog.System}


def _tier(prefixes: dict[str, str], *, exact: bool) -> dict[str, Column]:
    """Tier columns: the average weighted by its own sample count (``_n``) or the slot's."""
    return {name: Column(f"{p}_avg", f"MIN({p}_min)", f"MAX({p}_max)",
                         weight=f"{p}_n" if exact else "sample_count") for name, p in prefixes.items()}


_POWERS = {"pv_power_w": "pv_power_w", "load_power_w": "load_power_w", "batt_power_w": "batt_power_w",
           "grid_power_w": "grid_power_w"}
_LEVEL = {**_POWERS, "batt_soc_pct": "soc"}  # arrays and the system: their tiers keep a plain "soc"


def _tier_source(table: str, device: str, prefixes: dict[str, str], *, exact: bool) -> Source:
    return Source(table, device, _tier(prefixes, exact=exact), grain_s=300, count="SUM(sample_count)")


TIERS: dict[str, Source] = {
    "inverter": _tier_source("energy_samples_5min", "inverter_id", {**_POWERS, "soc": "soc"}, exact=True),
    "array": _tier_source("array_samples_5min", "array_id", _LEVEL, exact=False),
    "system": _tier_source("system_samples_5min", "system_id", _LEVEL, exact=False),
    "battery_pack": _tier_source("battery_bank_samples_5min", "pack_id", {
        n: n for n in ("power_w", "soc", "voltage", "current", "temperature", "cell_voltage")}, exact=True),
    "meter": _tier_source("meter_samples_5min", "meter_id", {
        n: n for n in ("grid_power_w", "grid_voltage_v", "grid_current_a", "grid_frequency_hz")}, exact=True),
}


def _hourly(columns: Mapping[str, tuple[str, str | None, str | None]]) -> dict[str, Column]:
    return {name: Column(f"AVG({a})", f"MIN({lo})" if lo else None, f"MAX({hi})" if hi else None)
            for name, (a, lo, hi) in columns.items()}


_HOURLY_POWERS: dict[str, tuple[str, str | None, str | None]] = {
    "pv_power_w": ("avg_solar_power_w", None, None), "load_power_w": ("avg_load_power_w", None, None),
    "batt_power_w": ("avg_battery_power_w", None, None), "grid_power_w": ("avg_grid_power_w", None, None)}
_DATES = ("date >= %s", "date <= %s")
HOURLY: dict[str, Source] = {
    "inverter": Source("hourly_energy", "inverter_id", _hourly(_HOURLY_POWERS), time="start_utc",
                       grain_s=3600, count="SUM(sample_count)", where=_DATES),
    "array": Source("array_hourly_energy", "array_id", _hourly(_HOURLY_POWERS), time="start_utc",
                    grain_s=3600, count="SUM(sample_count)", where=_DATES),
    "system": Source("system_hourly_energy", "system_id", _hourly(_HOURLY_POWERS), time="start_utc",
                     grain_s=3600, count="SUM(sample_count)", where=_DATES),
    "battery_pack": Source("battery_bank_hourly", "pack_id", _hourly({
        "power_w": ("avg_power_w", None, None), "soc": ("avg_soc_pct", "min_soc_pct", "max_soc_pct"),
        "voltage": ("avg_voltage_v", None, None), "current": ("avg_current_a", None, None),
        "temperature": ("avg_temperature_c", None, None),
        "cell_voltage": ("avg_cell_voltage_v", "min_cell_voltage_v", "max_cell_voltage_v")}),
        time="start_utc", grain_s=3600, count="SUM(sample_count)", where=_DATES),
    "meter": Source("meter_hourly_energy", "meter_id", _hourly({"grid_power_w": ("avg_power_w", None, None)}),
                    time="start_utc", grain_s=3600, count="SUM(sample_count)", where=_DATES),
}
# The bucket grain of each source (its rows are this far apart).
GRAINS = {"raw": 1, "tiers": TIERS["system"].grain_s, "hourly": HOURLY["system"].grain_s}
QUANTITIES: dict[str, list[str]] = {
    kind: [*RAW[kind].columns, *(["cell_voltage"] if kind == "battery_pack" else [])] for kind in RAW}


def _oldest(table: str, column: str = "ts") -> datetime | None:
    """The oldest row of a table (the first entry of its (ts, …) key, or of its date index)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN({column}) FROM {table}")
        value = cursor.fetchone()[0]
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, datetime.min.time(), tzinfo=UTC)
    return from_db(value)


def choose_source(kind: str, start: datetime, end: datetime) -> str:
    """raw, tiers or hourly: the finest source that holds the range and keeps the answer cheap.

    A source holds the range when its oldest row is not after ``start``, or when no coarser
    source goes back further (a young installation: everything starts at its first samples).
    """
    span = end - start
    raw_from, tier_from = _oldest(RAW[kind].table), _oldest(TIERS[kind].table)
    hourly_from = _oldest(HOURLY[kind].table, "date")
    if raw_from is not None and span <= timedelta(hours=settings.SOLARMON_SERIES_RAW_MAX_HOURS) and (
            raw_from <= start or tier_from is None or tier_from >= raw_from):
        return "raw"
    if tier_from is not None and span <= timedelta(days=settings.SOLARMON_SERIES_TIER_MAX_DAYS) and (
            tier_from <= start or hourly_from is None or hourly_from >= tier_from - timedelta(days=1)):
        return "tiers"
    if raw_from is not None and tier_from is None and hourly_from is None:
        return "raw"  # a new installation: nothing is rolled up yet, the raw samples are all there is
    return "hourly"


def _timezone(kind: str, device_id: str) -> str:
    owner = OWNERS[kind]._default_manager.filter(pk=device_id)
    if kind == "system":
        return str(owner.values_list("timezone", flat=True).first() or "UTC")
    return str(owner.values_list("system__timezone", flat=True).first() or "UTC")


def _local_dates(start: datetime, end: datetime, tz: str) -> tuple[date, date]:
    zone = ZoneInfo(tz)
    return start.astimezone(zone).date(), end.astimezone(zone).date()


def _open_from(kind: str, device_id: str, now: datetime) -> datetime:
    """Where the open span of the device's system starts (``aggregation.selectors.open_start``):
    the tiers and hourly rows before it are final, after it they are read from the raw samples."""
    owner = OWNERS[kind]._default_manager.filter(pk=device_id)
    system_id = device_id if kind == "system" else owner.values_list("system_id", flat=True).first()
    return open_start(Topology.current(catalog.System.objects.get(pk=system_id)), now)


def _raw_buckets(kind: str, device_id: str, start: datetime, end: datetime, step: int, names: list[str]
                 ) -> Buckets:
    """Buckets from the raw samples (a pack's cell band from its cell rows)."""
    own = [n for n in names if n in RAW[kind].columns]
    buckets = bucket_rows(RAW[kind], device_id, start, end, step, own)
    if "cell_voltage" in names:
        for index, band in bucket_rows(RAW_CELL_BAND, device_id, start, end, step, ["cell_voltage"]).items():
            point = buckets.setdefault(index, {"samples": 0, "avg": {}, "min": {}, "max": {}})
            for part in ("avg", "min", "max"):
                point[part].update(band[part])
    return buckets


def series(kind: str, device_id: str, start: datetime, end: datetime, points: int,
           fields: Iterable[str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """At most ``points`` buckets of the quantities ``fields`` (default: all of the kind) of one series.

    From the tiers or the hourly rows, the buckets from the system's open span on (the hour holding
    the rollups' watermark, see ``aggregation.selectors.open_start``) come from the raw samples, so a
    "last 24 hours" chart reaches now, and shows the same however far the periodic rollup closes.
    """
    points = min(max(points, 1), MAX_POINTS)
    names = [n for n in (fields or QUANTITIES[kind]) if n in QUANTITIES[kind]]
    tz = _timezone(kind, device_id)
    source = choose_source(kind, start, end)
    table = {"raw": RAW, "tiers": TIERS, "hourly": HOURLY}[source][kind]
    step = step_for(start, end, points, table.grain_s)
    while _buckets(start, end, step) > points:  # the grid is aligned to the epoch, not to ``start``
        step += table.grain_s
    if source == "raw":
        buckets = _raw_buckets(kind, device_id, start, end, step, names)
    else:
        params: tuple[Any, ...] = _local_dates(start, end, tz) if source == "hourly" else ()
        split = end
        opened = _open_from(kind, device_id, now or timezone.now())
        if start < opened < end:
            split = datetime.fromtimestamp(int(opened.timestamp()) // step * step, UTC)
        own = [n for n in names if n in table.columns]
        buckets = bucket_rows(table, device_id, start, split, step, own, params)
        if split < end:
            buckets.update(_raw_buckets(kind, device_id, max(start, split), end, step, names))
    out = points_of(buckets, start, end, step, names)
    return {"kind": kind, "device_id": device_id, "start": start, "end": end, "step_s": step,
            "source": source, "timezone": tz, "columns": names, "points": out}


def _buckets(start: datetime, end: datetime, step: int) -> int:
    return -(-int(end.timestamp()) // step) - int(start.timestamp()) // step
