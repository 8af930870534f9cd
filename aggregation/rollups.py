"""Rollups of one system's local day: read slot aggregates (SQL), build every level, upsert.

``rollup_day`` is the one service every caller uses (Celery tasks, ``manage.py rollup``, the
late-sample path). A day is the unit of recomputation: its hourly and daily rows at every level
come out of three queries (inverter, meter and pack samples), and writing them again gives the
same rows. Rows of the day that the new run did not produce (a device whose samples were
deleted) are removed, so a rerun always leaves exactly what the samples say.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from django.db import models, transaction
from django.utils import timezone

from aggregation import figures
from aggregation import models as m
from aggregation.buckets import local_day
from aggregation.daydata import DayData
from aggregation.levels import build_rows
from aggregation.topology import Topology
from catalog import models as catalog

log = logging.getLogger(__name__)

Fields = figures.Fields


def rollup_day(system_id: str, day: date) -> Counter[str]:
    """Recompute every rollup row of ``system_id`` for its local date ``day``; rows written per table."""
    system = catalog.System.objects.get(pk=system_id)
    topo = Topology.load(system)
    data = DayData(topo, local_day(day, ZoneInfo(system.timezone)))
    return write_rows(system, day, build_rows(topo, data))


def _pk_names(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.pk_fields]


def _upsert(model: type[models.Model], objs: list[models.Model]) -> None:
    keys = _pk_names(model)
    update = [f.name for f in model._meta.concrete_fields
              if f.name not in keys and f.name not in ("pk", "created_at") and not f.primary_key]
    model._default_manager.bulk_create(objs, update_conflicts=True, unique_fields=keys,
                                       update_fields=update, batch_size=500)


@transaction.atomic
def write_rows(system: catalog.System, day: date, rows: dict[type[models.Model], list[Fields]]
               ) -> Counter[str]:
    """Upsert the day's rows and delete the day's rows this run did not write."""
    now = timezone.now()
    written: Counter[str] = Counter()
    for model, field_rows in rows.items():
        objs = [model(**fields, updated_at=now) for fields in field_rows]
        if objs:
            _upsert(model, objs)
        date_field = "day" if model is m.MeterDaily else "date"
        model._default_manager.filter(system=system, updated_at__lt=now, **{date_field: day}).delete()
        written[model._meta.db_table] += len(objs)
    return written
