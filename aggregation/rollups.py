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
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.utils import timezone

from aggregation import figures
from aggregation import models as m
from aggregation.buckets import local_day
from aggregation.choices import Source
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


def _upsert(model: type[models.Model], rows: list[Fields], now: datetime) -> None:
    """Insert the rows, or update them where their primary key exists: one statement per batch.

    Plain SQL (``INSERT … ON CONFLICT … DO UPDATE``, on SQLite and PostgreSQL) with values
    prepared by each field, because building a model instance per row costs more than the write.
    ``created_at`` is left to its database default, so it keeps the time the row first appeared.
    """
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f.column and f.name != "created_at"]
    keys_sql = ", ".join(connection.ops.quote_name(f.column) for f in meta.pk_fields)
    names = [connection.ops.quote_name(f.column) for f in fields]
    update = ", ".join(f"{n} = EXCLUDED.{n}" for f, n in zip(fields, names, strict=True)
                       if f not in meta.pk_fields)
    # A column a row does not name gets the field's default, as a model instance would.
    defaults = {f.attname: f.get_default() for f in fields}
    defaults["updated_at"] = now
    values = [[f.get_db_prep_save(row.get(f.attname, row.get(f.name, defaults[f.attname])), connection)
               for f in fields] for row in rows]
    marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        for i in range(0, len(values), UPSERT_BATCH):
            batch = values[i:i + UPSERT_BATCH]
            rows_sql = ", ".join([marks] * len(batch))
            cursor.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES {rows_sql} "
                           f"ON CONFLICT ({keys_sql}) DO UPDATE SET {update}",
                           [v for row in batch for v in row])


UPSERT_BATCH = 200


@transaction.atomic
def write_rows(system: catalog.System, day: date, rows: dict[type[models.Model], list[Fields]]
               ) -> Counter[str]:
    """Upsert the day's rows and delete the day's rows this run did not write."""
    now = timezone.now()
    written: Counter[str] = Counter()
    for model, field_rows in rows.items():
        if field_rows:
            _upsert(model, field_rows, now)
        date_field = "day" if model is m.MeterDaily else "date"
        # Hours imported from the original system (no samples left for them) stay.
        model._default_manager.filter(system=system, updated_at__lt=now, **{date_field: day}).exclude(
            source=Source.IMPORTED).delete()
        written[model._meta.db_table] += len(field_rows)
    return written
