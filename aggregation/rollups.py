"""Rollups of one system's local day: slot aggregates from the raw samples, the 5-minute tiers,
then the hourly and daily rows of every level, upserted.

``rollup_day`` recomputes a whole day from its raw samples (``manage.py rollup``, backfills,
retention before it prunes an old day): the tiers of the day (three queries for inverter, meter
and pack samples, three more for arrays, the system and cells), then every level's rows. Writing
them again gives the same rows. Rows of the day that the new run did not produce (a device whose
samples were deleted) are removed, so a rerun always leaves exactly what the samples say.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import models, transaction
from django.utils import timezone

from aggregation import figures, tiers
from aggregation import models as m
from aggregation.buckets import local_day
from aggregation.choices import Source
from aggregation.daydata import DayData, SlotAggs, log_glitches, raw_slots
from aggregation.levels import build_rows
from aggregation.signals import rollup_written
from aggregation.topology import Topology
from catalog import models as catalog
from telemetry.upsert import upsert

log = logging.getLogger(__name__)

Fields = figures.Fields


@transaction.atomic
def rollup_day(system_id: str, day: date) -> Counter[str]:
    """Recompute the tiers and rollup rows of ``system_id`` for its local date ``day`` from raw samples.

    Returns the rows written per table.
    """
    system = catalog.System.objects.get(pk=system_id)
    topo = Topology.load(system)
    bounds = local_day(day, ZoneInfo(system.timezone))
    written, _ = tiers.replace_stat_tiers(topo, bounds.start_utc, bounds.end_utc)
    slots = raw_slots(topo, bounds.start_utc, bounds.end_utc)
    glitches = log_glitches(slots)
    written += write_energy_tiers(topo, slots, bounds.start_utc, bounds.end_utc)
    written += write_rows(system, day, build_rows(topo, DayData(bounds, slots)))
    transaction.on_commit(lambda: rollup_written.send(sender=DayData, system_id=system_id, day=day,
                                                      glitches=glitches))
    return written


def write_energy_tiers(topo: Topology, slots: dict[str, SlotAggs], start: datetime, end: datetime, *,
                       fresh: bool = False) -> Counter[str]:
    """Replace the inverter, meter and pack tiers of [start, end) by ``slots`` (``fresh``: none there yet)."""
    devices = {"inv": [i.pk for i in topo.inverters], "meter": [mt.pk for mt in topo.meters],
               "pack": [p.pk for p in topo.packs]}
    written: Counter[str] = Counter()
    for kind, spec in tiers.ENERGY_TIERS.items():
        written[spec.table] += tiers.replace_energy_tiers(spec, topo.system.pk, devices[kind], start, end,
                                                          slots.get(kind, {}), fresh=fresh)
    return written


def upsert_rows(rows: dict[type[models.Model], list[Fields]], now: datetime | None = None) -> Counter[str]:
    """Insert or update rollup rows on their keys; rows written per table."""
    now = now or timezone.now()
    written: Counter[str] = Counter()
    for model, field_rows in rows.items():
        if field_rows:
            # created_at keeps its database default: the time the row first appeared.
            upsert(model, field_rows, skip=("created_at",), overrides={"updated_at": now})
            written[model._meta.db_table] += len(field_rows)
    return written


@transaction.atomic
def write_rows(system: catalog.System, day: date, rows: dict[type[models.Model], list[Fields]]
               ) -> Counter[str]:
    """Upsert the day's rows and delete the day's rows this run did not write."""
    now = timezone.now()
    written = upsert_rows(rows, now)
    for model in rows:
        date_field = "day" if model is m.MeterDaily else "date"
        # Hours imported from the original system (no samples left for them) stay.
        model._default_manager.filter(system=system, updated_at__lt=now, **{date_field: day}).exclude(
            source=Source.IMPORTED).delete()
        written[model._meta.db_table] += 0
    return written
