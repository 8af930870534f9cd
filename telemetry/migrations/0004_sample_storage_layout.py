"""The storage layout of the sample tables: only the primary key and the spec's indexes.

- The spec's ``(ts DESC)`` indexes and the added ``(device, ts DESC)`` indexes go: the primary
  key ``(ts, device)`` serves every read (see telemetry/models.py).
- The foreign keys lose the indexes Django gave them (``db_index=False``). Dropping an index is
  done in place: altering the field would make SQLite copy the whole table, which a database
  with months of samples on a nearly full SD card could not afford.
- Cells get the min and max of their detail interval (nullable columns, added in place).

Existing rows stay where they are; nothing is copied.
"""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

from solarmon.migration_indexes import create_foreign_key_indexes, drop_foreign_key_indexes

# (model, foreign key fields) of the sample tables
SAMPLE_FKS = {
    "energysample": ["inverter", "array", "system"],
    "arraysample": ["array", "system"],
    "systemsample": ["system"],
    "batterybanksample": ["pack", "battery_array", "system"],
    "batteryunitsample": ["battery", "pack", "battery_array", "system"],
    "batterycellsample": ["cell_ref", "battery", "pack", "battery_array", "system"],
    "metersample": ["meter", "system", "array"],
}


def _fk(to: str, column: str, related_name: str, *, null: bool = False) -> models.ForeignKey:
    on_delete = django.db.models.deletion.SET_NULL if null else django.db.models.deletion.CASCADE
    return models.ForeignKey(db_column=column, db_index=False, null=null, on_delete=on_delete,
                             related_name=related_name, to=to)


RELATED = {
    ("energysample", "inverter"): ("catalog.inverter", "inverter_id", "samples"),
    ("energysample", "array"): ("catalog.inverterarray", "array_id", "+"),
    ("energysample", "system"): ("catalog.system", "system_id", "+"),
    ("arraysample", "array"): ("catalog.inverterarray", "array_id", "samples"),
    ("arraysample", "system"): ("catalog.system", "system_id", "+"),
    ("systemsample", "system"): ("catalog.system", "system_id", "samples"),
    ("batterybanksample", "pack"): ("catalog.batterypack", "pack_id", "samples"),
    ("batterybanksample", "battery_array"): ("catalog.batteryarray", "battery_array_id", "+"),
    ("batterybanksample", "system"): ("catalog.system", "system_id", "+"),
    ("batteryunitsample", "battery"): ("catalog.battery", "battery_id", "samples"),
    ("batteryunitsample", "pack"): ("catalog.batterypack", "pack_id", "+"),
    ("batteryunitsample", "battery_array"): ("catalog.batteryarray", "battery_array_id", "+"),
    ("batteryunitsample", "system"): ("catalog.system", "system_id", "+"),
    ("batterycellsample", "cell_ref"): ("catalog.batterycell", "cell_id", "samples"),
    ("batterycellsample", "battery"): ("catalog.battery", "battery_id", "+"),
    ("batterycellsample", "pack"): ("catalog.batterypack", "pack_id", "+"),
    ("batterycellsample", "battery_array"): ("catalog.batteryarray", "battery_array_id", "+"),
    ("batterycellsample", "system"): ("catalog.system", "system_id", "+"),
    ("metersample", "meter"): ("catalog.meter", "meter_id", "samples"),
    ("metersample", "system"): ("catalog.system", "system_id", "+"),
}

REMOVED_INDEXES = {
    "arraysample": ["idx_array_samples_ts", "idx_array_samples_array_ts"],
    "batterybanksample": ["idx_battery_bank_samples_ts", "idx_bbs_pack_ts"],
    "batterycellsample": ["idx_battery_cell_samples_ts", "idx_bcs_pack_ts"],
    "batteryunitsample": ["idx_battery_unit_samples_ts", "idx_bus_pack_ts"],
    "energysample": ["idx_energy_samples_ts", "idx_energy_samples_inv_ts"],
    "metersample": ["idx_meter_samples_ts", "idx_meter_samples_meter_ts"],
    "systemsample": ["idx_system_samples_sys_ts"],
}


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0001_initial"),
        ("telemetry", "0003_devicestatus_flags"),
    ]

    operations = [
        *[migrations.RemoveIndex(model_name=model, name=name)
          for model, names in REMOVED_INDEXES.items() for name in names],
        *[migrations.AddField(model_name="batterycellsample", name=name, field=models.FloatField(null=True))
          for name in ("voltage_min", "voltage_max", "temperature_min", "temperature_max")],
        migrations.SeparateDatabaseAndState(
            state_operations=[
                *[migrations.AlterField(model_name=model, name=name, field=_fk(*RELATED[(model, name)]))
                  for model, name in RELATED],
                migrations.AlterField(model_name="metersample", name="array",
                                      field=_fk("catalog.inverterarray", "array_id", "+", null=True)),
            ],
            database_operations=[migrations.RunPython(drop_foreign_key_indexes("telemetry", SAMPLE_FKS),
                                                                 create_foreign_key_indexes("telemetry", SAMPLE_FKS))],
        ),
    ]
