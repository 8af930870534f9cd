"""Each 5-minute energy tier row keeps the counter readings rejected in its slot.

A plain ``ALTER TABLE … ADD COLUMN`` on both databases: Django's SQLite schema editor would copy
each table to add a NOT NULL column, and the copy loses ``WITHOUT ROWID`` (0002_storage_tiers).
"""

from django.db import migrations, models

TABLES = {"invertertier": "energy_samples_5min", "metertier": "meter_samples_5min",
          "packtier": "battery_bank_samples_5min"}


def _add(model_name: str, table: str) -> migrations.SeparateDatabaseAndState:
    return migrations.SeparateDatabaseAndState(
        database_operations=[migrations.RunSQL(
            f"ALTER TABLE {table} ADD COLUMN glitches integer DEFAULT 0 NOT NULL",
            f"ALTER TABLE {table} DROP COLUMN glitches")],
        state_operations=[migrations.AddField(
            model_name=model_name, name="glitches",
            field=models.IntegerField(default=0, help_text="Counter readings rejected in the slot"))])


class Migration(migrations.Migration):

    dependencies = [
        ("aggregation", "0002_storage_tiers"),
    ]

    operations = [_add(model, table) for model, table in TABLES.items()]
