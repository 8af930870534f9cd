"""The rollup tables lose the indexes Django gave their foreign keys, as the sample tables did
(telemetry 0004): every read goes through a table's primary key or the spec's ``idx_*`` indexes,
and each extra index was written at every rollup upsert. The indexes are dropped in place
(altering the fields would make SQLite copy each table); the rows stay where they are.
"""

import django.db.models.deletion
from django.db import migrations, models

from solarmon.migration_indexes import create_foreign_key_indexes, drop_foreign_key_indexes

# (model, foreign key fields) of the rollup tables
ROLLUP_FKS = {
    "arraydailysummary": ["array", "system"],
    "arrayhourlyenergy": ["array", "system"],
    "batterybankdaily": ["battery_array", "pack", "system"],
    "batterybankhourly": ["battery_array", "pack", "system"],
    "inverterdailysummary": ["array", "inverter", "system"],
    "inverterhourlyenergy": ["array", "inverter", "system"],
    "meterdaily": ["array", "meter", "system"],
    "meterhourlyenergy": ["array", "meter", "system"],
    "systemdailysummary": ["system"],
    "systemhourlyenergy": ["system"],
}
TARGETS = {"array": "catalog.inverterarray", "battery_array": "catalog.batteryarray", "inverter": "catalog.inverter",
           "meter": "catalog.meter", "pack": "catalog.batterypack", "system": "catalog.system"}
NULLABLE = {("meterdaily", "array"), ("meterhourlyenergy", "array")}  # a meter's array: SET_NULL


def _fk(model_name: str, name: str) -> models.ForeignKey:
    null = (model_name, name) in NULLABLE
    on_delete = django.db.models.deletion.SET_NULL if null else django.db.models.deletion.CASCADE
    return models.ForeignKey(db_column=f"{name}_id", db_index=False, null=null, on_delete=on_delete,
                             related_name="+", to=TARGETS[name])


class Migration(migrations.Migration):

    dependencies = [
        ("aggregation", "0005_cell_index_and_cell_daily"),
        ("catalog", "0004_battery_pack_model_description_limit"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(model_name=model_name, name=name, field=_fk(model_name, name))
                              for model_name, names in ROLLUP_FKS.items() for name in names],
            database_operations=[migrations.RunPython(drop_foreign_key_indexes("aggregation", ROLLUP_FKS),
                                                      create_foreign_key_indexes("aggregation", ROLLUP_FKS))],
        ),
    ]
