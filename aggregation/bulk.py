"""Rollups of many whole local days at once (an import of history), each written in one short
transaction.

The rows are those of :func:`aggregation.rollups.rollup_day` for every day: the same statements
compute them (the tiers grouped in SQL, the slot aggregates of :mod:`aggregation.sql`, the rows of
:mod:`aggregation.levels`, the cells' days of :func:`aggregation.tiers.replace_cell_day`); what
differs is where the work is done. Everything a day needs is computed first, while only reading
solarmon's tables: the array, system and cell tiers and the cells' days are grouped into
temporary tables of this connection, the inverter, meter and pack slots and the day's rows are
built in memory. Only then is the day written, in one ``BEGIN IMMEDIATE`` transaction that copies
the staged rows and upserts the rest, so a writer of new samples (polling, on SQLite) waits for
that copy alone, never for the computation, and finds the lock free between two days.

A sample written into a day between its computation and its write is in a day the ingest path
marks dirty (late samples), which the periodic rollup rolls up again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from functools import partial
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from aggregation import rollups, tiers
from aggregation import tier_models as tm
from aggregation.buckets import Day, local_day
from aggregation.daydata import DayData, log_glitches, raw_slots
from aggregation.levels import build_rows
from aggregation.signals import rollup_written
from aggregation.topology import Topology
from catalog import models as catalog

CELL_DAY_STAGE = "rollup_stage_battery_cell_daily"
CELL_TIER_STAGE = f"rollup_stage_{tm.CellTier._meta.db_table}"


def rollup_whole_days(system_id: str, days: Iterable[date], *,
                      done: Callable[[date, float], None] | None = None) -> Counter[str]:
    """Recompute the tiers, cells' days and rollup rows of ``days`` of ``system_id`` from its raw
    samples, the catalog loaded once; ``done(day, seconds)`` after each day with how long its write
    transaction took. Returns the rows written per table."""
    system = catalog.System.objects.get(pk=system_id)
    topo = Topology.load(system)
    zone = ZoneInfo(system.timezone)
    packs = [p.pk for p in topo.packs]
    written: Counter[str] = Counter()
    for day in days:
        bounds = local_day(day, zone)
        start, end = bounds.start_utc, bounds.end_utc
        staged = rollups.stage_stat_tiers(topo, start, end)
        cells = stage_cell_day(packs, bounds)
        slots = raw_slots(topo, start, end, cell_band=rollups.staged_cell_band(topo, start, end))
        glitches = log_glitches(slots)
        rows = build_rows(topo, DayData(bounds, slots))
        began = time.monotonic()
        with transaction.atomic():
            written += rollups.write_staged(staged, start, end)
            if cells:
                written["battery_cell_daily"] += write_cell_day(packs, bounds)
            written += rollups.write_energy_tiers(topo, slots, start, end)
            written += rollups.write_rows(system, day, rows)
            transaction.on_commit(partial(rollup_written.send, sender=DayData, system_id=system_id, day=day,
                                          glitches=glitches))
        if done is not None:
            done(day, time.monotonic() - began)
    return written


def stage_cell_day(packs: list[str], day: Day) -> int:
    """The packs' cells' days of ``day`` from the staged cell tiers (:func:`rollups.stage_stat_tiers`
    of the same day), into a temporary table; cells staged. None when the day has no cell tier
    rows: as :func:`aggregation.tiers.replace_cell_day`, its stored summary then stays."""
    if not packs:
        return 0
    adapt = connection.ops.adapt_datetimefield_value
    on = connection.ops.adapt_datefield_value(day.date)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {CELL_DAY_STAGE} AS "
                       "SELECT * FROM battery_cell_daily WHERE 1 = 0")
        cursor.execute(f"DELETE FROM {CELL_DAY_STAGE}")
        cursor.execute(tiers._cell_daily_sql(len(packs), source=CELL_TIER_STAGE, target=CELL_DAY_STAGE),
                       [on, *packs, adapt(day.start_utc), adapt(day.end_utc)])
        return max(cursor.rowcount, 0)


def write_cell_day(packs: list[str], day: Day) -> int:
    """Replace the packs' cells' days of ``day`` by the staged ones (see :func:`stage_cell_day`)."""
    on = connection.ops.adapt_datefield_value(day.date)
    marks = ", ".join(["%s"] * len(packs))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM battery_cell_daily WHERE pack_id IN ({marks}) AND date = %s",
                       [*packs, on])
        cursor.execute(f"INSERT INTO battery_cell_daily SELECT * FROM {CELL_DAY_STAGE}")
        return max(cursor.rowcount, 0)
