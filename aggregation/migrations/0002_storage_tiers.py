"""The 5-minute tiers, the cell band of the pack rollups, and the state of incremental rollups
(a watermark per device, the range of late samples of a dirty day).

The tier tables are created WITHOUT ROWID on SQLite: their primary key (ts, device) is the
whole natural key, and a rowid table would store it twice (once in the table, once in the key's
index). Django's state holds ordinary models; the tables are created by ``create_tier_tables``.
A test (tests/aggregation/test_tiers.py) checks the layout, so a later migration that remakes
one of these tables the ordinary way is noticed.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

TIERS = ["InverterTier", "MeterTier", "PackTier", "ArrayTier", "SystemTier", "CellTier"]


def create_tier_tables(apps: Any, schema_editor: Any) -> None:
    for name in TIERS:
        model = apps.get_model("aggregation", name)
        if schema_editor.connection.vendor != "sqlite":
            schema_editor.create_model(model)
            continue
        sql, params = schema_editor.table_sql(model)
        schema_editor.execute(f"{sql} WITHOUT ROWID", params)


def drop_tier_tables(apps: Any, schema_editor: Any) -> None:
    for name in reversed(TIERS):
        schema_editor.delete_model(apps.get_model("aggregation", name))


class Migration(migrations.Migration):

    dependencies = [
        ('aggregation', '0001_initial'),
        ('catalog', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='batterybankdaily',
            name='avg_cell_voltage_v',
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name='batterybankdaily',
            name='max_cell_voltage_v',
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name='batterybankdaily',
            name='min_cell_voltage_v',
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name='batterybankhourly',
            name='avg_cell_voltage_v',
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name='batterybankhourly',
            name='max_cell_voltage_v',
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name='batterybankhourly',
            name='min_cell_voltage_v',
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name='dirtyday',
            name='first_ts',
            field=models.DateTimeField(help_text='Earliest late sample (empty: the whole day)', null=True),
        ),
        migrations.AddField(
            model_name='dirtyday',
            name='last_ts',
            field=models.DateTimeField(help_text='Latest late sample (empty: the whole day)', null=True),
        ),
        migrations.CreateModel(
            name='RollupWatermark',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('device_type', models.CharField(choices=[('inverter', 'Inverter'), ('battery_pack', 'Battery pack'), ('meter', 'Meter')], max_length=16)),
                ('device_id', models.CharField(max_length=64)),
                ('closed_until', models.DateTimeField(help_text='UTC end of the last closed slot')),
                ('max_gap_s', models.FloatField(default=0.0)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('system', models.ForeignKey(db_column='system_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.system')),
            ],
            options={
                'db_table': 'rollup_watermarks',
                'constraints': [models.UniqueConstraint(fields=('device_type', 'device_id'), name='uq_rollup_watermark')],
            },
        ),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='ArrayTier',
                fields=[
                    ('ts', models.DateTimeField(help_text='UTC start of the 5-minute slot')),
                    ('sample_count', models.IntegerField(default=0)),
                    ('pk', models.CompositePrimaryKey('ts', 'array', blank=True, editable=False, primary_key=True, serialize=False)),
                    ('pv_power_w_avg', models.FloatField(null=True)),
                    ('pv_power_w_min', models.FloatField(null=True)),
                    ('pv_power_w_max', models.FloatField(null=True)),
                    ('load_power_w_avg', models.FloatField(null=True)),
                    ('load_power_w_min', models.FloatField(null=True)),
                    ('load_power_w_max', models.FloatField(null=True)),
                    ('batt_power_w_avg', models.FloatField(null=True)),
                    ('batt_power_w_min', models.FloatField(null=True)),
                    ('batt_power_w_max', models.FloatField(null=True)),
                    ('grid_power_w_avg', models.FloatField(null=True)),
                    ('grid_power_w_min', models.FloatField(null=True)),
                    ('grid_power_w_max', models.FloatField(null=True)),
                    ('soc_avg', models.FloatField(null=True)),
                    ('soc_min', models.FloatField(null=True)),
                    ('soc_max', models.FloatField(null=True)),
                    ('array', models.ForeignKey(db_column='array_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.inverterarray')),
                    ('system', models.ForeignKey(db_column='system_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.system')),
                ],
                options={
                    'verbose_name': 'array 5-minute tier',
                    'db_table': 'array_samples_5min',
                },
            ),
            migrations.CreateModel(
                name='CellTier',
                fields=[
                    ('ts', models.DateTimeField(help_text='UTC start of the 5-minute slot')),
                    ('sample_count', models.IntegerField(default=0)),
                    ('pk', models.CompositePrimaryKey('ts', 'cell', blank=True, editable=False, primary_key=True, serialize=False)),
                    ('voltage_avg', models.FloatField(null=True)),
                    ('voltage_min', models.FloatField(null=True)),
                    ('voltage_max', models.FloatField(null=True)),
                    ('temperature_avg', models.FloatField(null=True)),
                    ('temperature_min', models.FloatField(null=True)),
                    ('temperature_max', models.FloatField(null=True)),
                    ('cell', models.ForeignKey(db_column='cell_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.batterycell')),
                    ('pack', models.ForeignKey(db_column='pack_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.batterypack')),
                ],
                options={
                    'verbose_name': 'cell 5-minute tier',
                    'db_table': 'battery_cell_samples_5min',
                },
            ),
            migrations.CreateModel(
                name='InverterTier',
                fields=[
                    ('ts', models.DateTimeField(help_text='UTC start of the 5-minute slot')),
                    ('sample_count', models.IntegerField(default=0)),
                    ('covered_s', models.FloatField(default=0.0, help_text='Seconds of the slot between neighbouring samples')),
                    ('source', models.CharField(choices=[('counter', 'Device energy counters'), ('integrated', 'Integrated power'), ('mixed', 'Partly counters, partly integrated power'), ('none', 'No energy data')], default='none', max_length=12)),
                    ('pk', models.CompositePrimaryKey('ts', 'inverter', blank=True, editable=False, primary_key=True, serialize=False)),
                    ('solar_energy_kwh', models.FloatField(null=True)),
                    ('load_energy_kwh', models.FloatField(null=True)),
                    ('battery_charge_energy_kwh', models.FloatField(null=True)),
                    ('battery_discharge_energy_kwh', models.FloatField(null=True)),
                    ('grid_import_energy_kwh', models.FloatField(null=True)),
                    ('grid_export_energy_kwh', models.FloatField(null=True)),
                    ('pv_power_w_avg', models.FloatField(null=True)),
                    ('pv_power_w_min', models.FloatField(null=True)),
                    ('pv_power_w_max', models.FloatField(null=True)),
                    ('pv_power_w_n', models.IntegerField(null=True)),
                    ('load_power_w_avg', models.FloatField(null=True)),
                    ('load_power_w_min', models.FloatField(null=True)),
                    ('load_power_w_max', models.FloatField(null=True)),
                    ('load_power_w_n', models.IntegerField(null=True)),
                    ('batt_power_w_avg', models.FloatField(null=True)),
                    ('batt_power_w_min', models.FloatField(null=True)),
                    ('batt_power_w_max', models.FloatField(null=True)),
                    ('batt_power_w_n', models.IntegerField(null=True)),
                    ('grid_power_w_avg', models.FloatField(null=True)),
                    ('grid_power_w_min', models.FloatField(null=True)),
                    ('grid_power_w_max', models.FloatField(null=True)),
                    ('grid_power_w_n', models.IntegerField(null=True)),
                    ('soc_avg', models.FloatField(null=True)),
                    ('soc_min', models.FloatField(null=True)),
                    ('soc_max', models.FloatField(null=True)),
                    ('soc_n', models.IntegerField(null=True)),
                    ('inverter', models.ForeignKey(db_column='inverter_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.inverter')),
                    ('system', models.ForeignKey(db_column='system_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.system')),
                ],
                options={
                    'verbose_name': 'inverter 5-minute tier',
                    'db_table': 'energy_samples_5min',
                },
            ),
            migrations.CreateModel(
                name='MeterTier',
                fields=[
                    ('ts', models.DateTimeField(help_text='UTC start of the 5-minute slot')),
                    ('sample_count', models.IntegerField(default=0)),
                    ('covered_s', models.FloatField(default=0.0, help_text='Seconds of the slot between neighbouring samples')),
                    ('source', models.CharField(choices=[('counter', 'Device energy counters'), ('integrated', 'Integrated power'), ('mixed', 'Partly counters, partly integrated power'), ('none', 'No energy data')], default='none', max_length=12)),
                    ('pk', models.CompositePrimaryKey('ts', 'meter', blank=True, editable=False, primary_key=True, serialize=False)),
                    ('grid_import_energy_kwh', models.FloatField(null=True)),
                    ('grid_export_energy_kwh', models.FloatField(null=True)),
                    ('grid_power_w_avg', models.FloatField(null=True)),
                    ('grid_power_w_min', models.FloatField(null=True)),
                    ('grid_power_w_max', models.FloatField(null=True)),
                    ('grid_power_w_n', models.IntegerField(null=True)),
                    ('grid_voltage_v_avg', models.FloatField(null=True)),
                    ('grid_voltage_v_min', models.FloatField(null=True)),
                    ('grid_voltage_v_max', models.FloatField(null=True)),
                    ('grid_voltage_v_n', models.IntegerField(null=True)),
                    ('grid_current_a_avg', models.FloatField(null=True)),
                    ('grid_current_a_min', models.FloatField(null=True)),
                    ('grid_current_a_max', models.FloatField(null=True)),
                    ('grid_current_a_n', models.IntegerField(null=True)),
                    ('grid_frequency_hz_avg', models.FloatField(null=True)),
                    ('grid_frequency_hz_min', models.FloatField(null=True)),
                    ('grid_frequency_hz_max', models.FloatField(null=True)),
                    ('grid_frequency_hz_n', models.IntegerField(null=True)),
                    ('meter', models.ForeignKey(db_column='meter_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.meter')),
                    ('system', models.ForeignKey(db_column='system_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.system')),
                ],
                options={
                    'verbose_name': 'meter 5-minute tier',
                    'db_table': 'meter_samples_5min',
                },
            ),
            migrations.CreateModel(
                name='PackTier',
                fields=[
                    ('ts', models.DateTimeField(help_text='UTC start of the 5-minute slot')),
                    ('sample_count', models.IntegerField(default=0)),
                    ('covered_s', models.FloatField(default=0.0, help_text='Seconds of the slot between neighbouring samples')),
                    ('source', models.CharField(choices=[('counter', 'Device energy counters'), ('integrated', 'Integrated power'), ('mixed', 'Partly counters, partly integrated power'), ('none', 'No energy data')], default='none', max_length=12)),
                    ('pk', models.CompositePrimaryKey('ts', 'pack', blank=True, editable=False, primary_key=True, serialize=False)),
                    ('charge_energy_kwh', models.FloatField(null=True)),
                    ('discharge_energy_kwh', models.FloatField(null=True)),
                    ('power_w_avg', models.FloatField(null=True)),
                    ('power_w_min', models.FloatField(null=True)),
                    ('power_w_max', models.FloatField(null=True)),
                    ('power_w_n', models.IntegerField(null=True)),
                    ('soc_avg', models.FloatField(null=True)),
                    ('soc_min', models.FloatField(null=True)),
                    ('soc_max', models.FloatField(null=True)),
                    ('soc_n', models.IntegerField(null=True)),
                    ('voltage_avg', models.FloatField(null=True)),
                    ('voltage_min', models.FloatField(null=True)),
                    ('voltage_max', models.FloatField(null=True)),
                    ('voltage_n', models.IntegerField(null=True)),
                    ('current_avg', models.FloatField(null=True)),
                    ('current_min', models.FloatField(null=True)),
                    ('current_max', models.FloatField(null=True)),
                    ('current_n', models.IntegerField(null=True)),
                    ('temperature_avg', models.FloatField(null=True)),
                    ('temperature_min', models.FloatField(null=True)),
                    ('temperature_max', models.FloatField(null=True)),
                    ('temperature_n', models.IntegerField(null=True)),
                    ('cell_voltage_avg', models.FloatField(null=True)),
                    ('cell_voltage_min', models.FloatField(null=True)),
                    ('cell_voltage_max', models.FloatField(null=True)),
                    ('cell_voltage_n', models.IntegerField(null=True)),
                    ('pack', models.ForeignKey(db_column='pack_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.batterypack')),
                    ('system', models.ForeignKey(db_column='system_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.system')),
                ],
                options={
                    'verbose_name': 'battery pack 5-minute tier',
                    'db_table': 'battery_bank_samples_5min',
                },
            ),
            migrations.CreateModel(
                name='SystemTier',
                fields=[
                    ('ts', models.DateTimeField(help_text='UTC start of the 5-minute slot')),
                    ('sample_count', models.IntegerField(default=0)),
                    ('pk', models.CompositePrimaryKey('ts', 'system', blank=True, editable=False, primary_key=True, serialize=False)),
                    ('pv_power_w_avg', models.FloatField(null=True)),
                    ('pv_power_w_min', models.FloatField(null=True)),
                    ('pv_power_w_max', models.FloatField(null=True)),
                    ('load_power_w_avg', models.FloatField(null=True)),
                    ('load_power_w_min', models.FloatField(null=True)),
                    ('load_power_w_max', models.FloatField(null=True)),
                    ('batt_power_w_avg', models.FloatField(null=True)),
                    ('batt_power_w_min', models.FloatField(null=True)),
                    ('batt_power_w_max', models.FloatField(null=True)),
                    ('grid_power_w_avg', models.FloatField(null=True)),
                    ('grid_power_w_min', models.FloatField(null=True)),
                    ('grid_power_w_max', models.FloatField(null=True)),
                    ('soc_avg', models.FloatField(null=True)),
                    ('soc_min', models.FloatField(null=True)),
                    ('soc_max', models.FloatField(null=True)),
                    ('system', models.ForeignKey(db_column='system_id', db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.system')),
                ],
                options={
                    'verbose_name': 'system 5-minute tier',
                    'db_table': 'system_samples_5min',
                },
            ),
        ]),
        migrations.RunPython(create_tier_tables, drop_tier_tables),
    ]
