"""One cell over a range, and the weakest cell of a long period, without scanning every cell.

- ``battery_cell_samples_5min`` gets an index on (cell, slot): its key (slot, cell) made one
  cell's month a read of every cell's rows of the month.
- ``battery_cell_daily``: each cell's local day (lowest voltage and its slot, highest, averages),
  created WITHOUT ROWID on SQLite like the tiers (its key is the whole row's identity). It is
  filled here from the cell tiers already stored, a local day at a time per system, so an
  upgraded database answers for its whole history at once; from then on the rollup path writes
  it with the cell tiers (aggregation.tiers.replace_cell_days).

The backfill's SQL is a copy of aggregation.tiers._cell_daily_sql as it was when this migration
was written, so that later changes there do not change what this migration does.
"""

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import django.db.models.deletion
from django.db import migrations, models


def _stats(name: str) -> str:
    weight = f"CASE WHEN {name}_avg IS NULL THEN 0 ELSE sample_count END"
    return (f"SUM({name}_avg * sample_count) / NULLIF(SUM({weight}), 0), SUM({weight}), "
            f"MIN({name}_min), MAX({name}_max)")


def _summary_sql(packs: int) -> str:
    marks = ", ".join(["%s"] * packs)
    return (
        "INSERT INTO battery_cell_daily (pack_id, date, cell_id, sample_count, voltage_avg, voltage_n, "
        "voltage_min, voltage_max, temperature_avg, temperature_n, temperature_min, temperature_max, "
        "voltage_min_at) "
        f"SELECT pack_id, %s, cell_id, SUM(sample_count), {_stats('voltage')}, {_stats('temperature')}, "
        "MIN(CASE WHEN lowest = 1 AND voltage_min IS NOT NULL THEN ts END) "
        "FROM (SELECT pack_id, cell_id, ts, sample_count, voltage_avg, voltage_min, voltage_max, "
        "temperature_avg, temperature_min, temperature_max, ROW_NUMBER() OVER (PARTITION BY cell_id "
        "ORDER BY CASE WHEN voltage_min IS NULL THEN 1 ELSE 0 END, voltage_min, ts) AS lowest "
        f"FROM battery_cell_samples_5min WHERE pack_id IN ({marks}) AND ts >= %s AND ts < %s"
        ") slots GROUP BY pack_id, cell_id")


def create_cell_daily(apps: Any, schema_editor: Any) -> None:
    model = apps.get_model("aggregation", "CellDaily")
    if schema_editor.connection.vendor != "sqlite":
        schema_editor.create_model(model)
        return
    sql, params = schema_editor.table_sql(model)
    schema_editor.execute(f"{sql} WITHOUT ROWID", params)


def drop_cell_daily(apps: Any, schema_editor: Any) -> None:
    schema_editor.delete_model(apps.get_model("aggregation", "CellDaily"))


def _from_db(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def backfill_cell_daily(apps: Any, schema_editor: Any) -> None:
    """Every local day of every system that has cell tier rows, from those rows."""
    connection = schema_editor.connection
    ops = connection.ops
    System = apps.get_model("catalog", "System")
    BatteryPack = apps.get_model("catalog", "BatteryPack")
    for system_id, tz_name in System.objects.values_list("pk", "timezone"):
        packs = list(BatteryPack.objects.filter(system_id=system_id).values_list("pk", flat=True))
        if not packs:
            continue
        marks = ", ".join(["%s"] * len(packs))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MIN(ts), MAX(ts) FROM battery_cell_samples_5min WHERE pack_id IN ({marks})",
                           packs)
            first, last = cursor.fetchone()
            if first is None:
                continue
            zone = ZoneInfo(str(tz_name or "UTC"))
            day = _from_db(first).astimezone(zone).date()
            while (start := datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)) <= _from_db(last):
                end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
                cursor.execute(_summary_sql(len(packs)), [ops.adapt_datefield_value(day), *packs,
                                                          ops.adapt_datetimefield_value(start),
                                                          ops.adapt_datetimefield_value(end)])
                day += timedelta(days=1)


class Migration(migrations.Migration):

    dependencies = [
        ('aggregation', '0004_imported_hours_recorded_intervals'),
        ('catalog', '0004_battery_pack_model_description_limit'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='celltier',
            index=models.Index(fields=['cell', 'ts'], name='battery_cell_5min_cell_ts'),
        ),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='CellDaily',
                fields=[
                    ('pk', models.CompositePrimaryKey('pack', 'date', 'cell', blank=True, editable=False, primary_key=True, serialize=False)),
                    ('date', models.DateField(help_text="Local date in the system's timezone")),
                    ('sample_count', models.IntegerField(default=0)),
                    ('voltage_avg', models.FloatField(null=True)),
                    ('voltage_min', models.FloatField(null=True)),
                    ('voltage_max', models.FloatField(null=True)),
                    ('voltage_n', models.IntegerField(null=True)),
                    ('voltage_min_at', models.DateTimeField(help_text='UTC start of the slot of the lowest voltage', null=True)),
                    ('temperature_avg', models.FloatField(null=True)),
                    ('temperature_min', models.FloatField(null=True)),
                    ('temperature_max', models.FloatField(null=True)),
                    ('temperature_n', models.IntegerField(null=True)),
                    ('cell', models.ForeignKey(db_column='cell_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.batterycell')),
                    ('pack', models.ForeignKey(db_column='pack_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.batterypack')),
                ],
                options={
                    'verbose_name': 'cell day',
                    'verbose_name_plural': 'cell days',
                    'db_table': 'battery_cell_daily',
                },
            ),
        ]),
        migrations.RunPython(create_cell_daily, drop_cell_daily),
        migrations.RunPython(backfill_cell_daily, migrations.RunPython.noop),
    ]
