"""Retention: raw samples for ``SOLARMON_RAW_RETENTION_DAYS``, then only the tiers and rollups.

Raw samples of a local day go only once the day is safe without them: its rollups exist, it is
not marked dirty, and its 5-minute tiers account for every one of its raw samples (the tiers'
sample counts equal the raw rows, per table). A day that fails this because it was rolled up
before tiers existed, or never, is rolled up again first (at most
``SOLARMON_RETENTION_BACKFILL_DAYS`` days per run, oldest first); a dirty day waits for the
periodic rollup. Deletes go a day at a time, each in its own transaction, through the (ts, device)
keys, so the write-ahead log stays small.

Tiers have their own ages: ``SOLARMON_TIER_RETENTION_DAYS`` (devices, arrays, the system) and
``SOLARMON_CELL_TIER_RETENTION_DAYS`` (cells); 0 keeps them forever. Rollups are kept forever.
Freed space goes back to the file system (:func:`aggregation.vacuum.reclaim_space`).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from aggregation import tier_models as tm
from aggregation.buckets import SLOT_S, from_db, local_date, local_midnight
from aggregation.models import DirtyDay, SystemDailySummary
from aggregation.vacuum import reclaim_space
from catalog import models as catalog
from telemetry import models as t

log = logging.getLogger(__name__)

# sample table → (its device column, the catalog rows whose ids it holds)
RAW_TABLES: dict[str, tuple[str, str]] = {
    "energy_samples": ("inverter_id", "inverters"), "meter_samples": ("meter_id", "meters"),
    "battery_bank_samples": ("pack_id", "packs"), "battery_unit_samples": ("pack_id", "packs"),
    "battery_cell_samples": ("pack_id", "packs"), "array_samples": ("array_id", "arrays"),
    "system_samples": ("system_id", "system"),
}
# The raw sample tables as models (the disk guard and the storage report read them).
SAMPLE_MODELS: tuple[type[models.Model], ...] = (
    t.EnergySample, t.ArraySample, t.SystemSample, t.MeterSample, t.BatteryBankSample,
    t.BatteryUnitSample, t.BatteryCellSample)
# raw table → (its tier, the tier's device column): a day's tiers must count all its raw rows
COUNTED = {"energy_samples": ("energy_samples_5min", "inverter_id"),
           "meter_samples": ("meter_samples_5min", "meter_id"),
           "battery_bank_samples": ("battery_bank_samples_5min", "pack_id"),
           "battery_cell_samples": ("battery_cell_samples_5min", "pack_id")}


class Devices:
    """The ids a system's rows carry, per kind."""

    def __init__(self, system: catalog.System) -> None:
        self.system = system
        self.ids = {
            "inverters": list(catalog.Inverter.objects.filter(system=system).values_list("pk", flat=True)),
            "meters": list(catalog.Meter.objects.filter(system=system).values_list("pk", flat=True)),
            "packs": list(catalog.BatteryPack.objects.filter(system=system).values_list("pk", flat=True)),
            "arrays": list(catalog.InverterArray.objects.filter(system=system).values_list("pk", flat=True)),
            "system": [system.pk],
        }

    def where(self, table: str, column: str | None = None) -> tuple[str, list[str]]:
        """``column IN (…)`` for the table's device column (never the system index: the key's ts range
        is the way in)."""
        device, kind = RAW_TABLES[table]
        ids = self.ids[kind]
        return f"{column or device} IN ({', '.join(['%s'] * len(ids))})", ids


def _adapt(ts: datetime) -> str:
    return str(connection.ops.adapt_datetimefield_value(ts))


def _count(sql: str, params: list[str]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def oldest_sample(devices: Devices) -> datetime | None:
    """The oldest raw sample of the system (inverter, meter and pack tables)."""
    found = []
    for table in ("energy_samples", "meter_samples", "battery_bank_samples"):
        where, ids = devices.where(table)
        if not ids:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT ts FROM {table} WHERE {where} ORDER BY ts LIMIT 1", ids)
            row = cursor.fetchone()
        if row:
            found.append(from_db(row[0]))
    return min(found, default=None)


def tiers_complete(devices: Devices, start: datetime, end: datetime) -> bool:
    """Whether the tiers of [start, end) account for every raw sample of it."""
    for table, (tier, column) in COUNTED.items():
        where, ids = devices.where(table)
        if not ids:
            continue
        bounds = [_adapt(start), _adapt(end)]
        raw = _count(f"SELECT COUNT(*) FROM {table} WHERE ts >= %s AND ts < %s AND {where}", [*bounds, *ids])
        tiered = _count(f"SELECT SUM(sample_count) FROM {tier} WHERE ts >= %s AND ts < %s "
                        f"AND {devices.where(table, column)[0]}", [*bounds, *ids])
        if raw != tiered:
            return False
    return True


def _day_safe(devices: Devices, day: date, tz: ZoneInfo, since: datetime | None = None) -> bool:
    """Whether the day's raw samples may go; ``since``: its samples before this are already gone
    (an earlier prune ended inside the day), so its tiers are checked from the next slot on."""
    system = devices.system
    if DirtyDay.objects.filter(system=system, date=day).exists():
        return False
    if not SystemDailySummary.objects.filter(system=system, date=day).exists() and devices.ids["inverters"]:
        return False
    start = local_midnight(day, tz)
    if since is not None and since > start:
        start = _next_slot(since)
    return tiers_complete(devices, start, local_midnight(day + timedelta(days=1), tz))


def _pruned_before(devices: Devices, day: date, tz: ZoneInfo, oldest: datetime) -> bool:
    """Whether tiers of ``day`` hold samples from before its oldest raw sample's slot: its raw
    samples before that were pruned."""
    start = local_midnight(day, tz)
    end = datetime.fromtimestamp(oldest.timestamp() // SLOT_S * SLOT_S, tz=oldest.tzinfo)
    if end <= start:
        return False
    for table, (tier, column) in COUNTED.items():
        where, ids = devices.where(table, column)
        if ids and _count(f"SELECT COUNT(*) FROM {tier} WHERE ts >= %s AND ts < %s AND {where}",
                          [_adapt(start), _adapt(end), *ids]):
            return True
    return False


def _next_slot(moment: datetime) -> datetime:
    """The start of the first 5-minute slot that begins at or after ``moment``."""
    seconds = -(-moment.timestamp() // SLOT_S) * SLOT_S
    return datetime.fromtimestamp(seconds, tz=moment.tzinfo)


def prune_limit(system: catalog.System, now: datetime, keep_days: int, *, backfill: int | None = None
                ) -> datetime | None:
    """The instant before which this system's raw samples may go (None: nothing may go).

    Days that lack their tiers or rollups are rolled up again on the way (``backfill`` days at most).
    """
    from aggregation.rollups import rollup_day

    tz = ZoneInfo(system.timezone)
    devices = Devices(system)
    oldest = oldest_sample(devices)
    cutoff = now - timedelta(days=keep_days)
    if oldest is None or oldest >= cutoff:
        return None
    budget = settings.SOLARMON_RETENTION_BACKFILL_DAYS if backfill is None else backfill
    day: date = local_date(oldest, tz)
    while local_midnight(day, tz) < cutoff:
        # The oldest day may have lost its first hours to an earlier prune (cutoffs fall inside days).
        first_day = day == local_date(oldest, tz)
        partial = oldest if first_day and _pruned_before(devices, day, tz, oldest) else None
        if not _day_safe(devices, day, tz, since=partial):
            dirty = DirtyDay.objects.filter(system=system, date=day).exists()
            # Rolling up a day whose first samples are gone would lose them from its tiers and rollups.
            if dirty or budget <= 0 or partial is not None:
                return min(cutoff, max(partial or oldest, local_midnight(day, tz)))
            log.info("rolling up %s %s again before its raw samples go", system.pk, day)
            rollup_day(system.pk, day)
            budget -= 1
            if not _day_safe(devices, day, tz):
                return min(cutoff, local_midnight(day, tz))
        day += timedelta(days=1)
    return cutoff


def _delete_before(devices: Devices, start: datetime, limit: datetime) -> dict[str, int]:
    """Delete the system's raw rows of [start, limit), one local day per transaction."""
    tz = ZoneInfo(devices.system.timezone)
    deleted: dict[str, int] = {}
    lo = start
    while lo < limit:
        hi = min(limit, local_midnight(local_date(lo, tz) + timedelta(days=1), tz))
        with transaction.atomic(), connection.cursor() as cursor:
            for table in RAW_TABLES:
                where, ids = devices.where(table)
                if not ids:
                    continue
                cursor.execute(f"DELETE FROM {table} WHERE ts >= %s AND ts < %s AND {where}",
                               [_adapt(lo), _adapt(hi), *ids])
                deleted[table] = deleted.get(table, 0) + max(cursor.rowcount, 0)
        lo = hi
    return deleted


def prune_tiers(now: datetime) -> dict[str, int]:
    """Delete tier rows past their retention age (none when it is 0: forever)."""
    deleted: dict[str, int] = {}
    ages = {model: settings.SOLARMON_CELL_TIER_RETENTION_DAYS if model is tm.CellTier
            else settings.SOLARMON_TIER_RETENTION_DAYS for model in tm.TIER_MODELS}
    for model, days in ages.items():
        if days > 0:
            count, _ = model._default_manager.filter(ts__lt=now - timedelta(days=days)).delete()
            if count:
                deleted[model._meta.db_table] = count
    return deleted


def prune_raw_samples(now: datetime | None = None, keep_days: int | None = None) -> dict[str, int]:
    """Delete raw samples older than ``keep_days`` (default: the setting) where their days are safe
    without them, and tiers past their age; rows deleted per table.

    A smaller ``keep_days`` prunes early (the disk guard); it never goes past what is safe.
    """
    now = now or timezone.now()
    keep = settings.SOLARMON_RAW_RETENTION_DAYS if keep_days is None else keep_days
    deleted: dict[str, int] = {}
    for system in catalog.System.objects.all():
        limit = prune_limit(system, now, keep)
        if limit is None:
            continue
        devices = Devices(system)
        oldest = oldest_sample(devices)
        if oldest is None:
            continue
        for table, count in _delete_before(devices, oldest, limit).items():
            deleted[table] = deleted.get(table, 0) + count
    for table, count in prune_tiers(now).items():
        deleted[table] = deleted.get(table, 0) + count
    if any(deleted.values()):
        log.info("pruned: %s", deleted)
        reclaim_space()
    return deleted
