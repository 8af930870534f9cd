"""``weather_factor``: the day's PV energy ÷ the best day's PV energy of the trailing 30 days
(the day itself and the 29 before it), so 1.0 is the best day of the last month and a cloudy day
reads e.g. 0.4. It compares the site with itself, so it needs no irradiance data. Days before
the first rolled-up day simply do not count; a month without PV gives NULL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import connection

from aggregation import models as m

TRAILING_DAYS = 30

# daily model → its entity column
ENTITY = {m.InverterDailySummary: "inverter_id", m.ArrayDailySummary: "array_id",
          m.SystemDailySummary: "system_id"}


def add_weather_factors(model: type[Any], day: date, rows: list[dict[str, Any]]) -> None:
    """Set ``weather_factor`` on each new daily row of ``model`` for ``day``.

    One plain query (the periodic rollup rebuilds today's daily rows every hour; building the
    ORM query cost more than running it)."""
    column = ENTITY[model]
    ids = [r[column] for r in rows]
    adapt = connection.ops.adapt_datefield_value
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}, MAX(pv_energy_kwh) FROM {model._meta.db_table} "
                       f"WHERE {quote('date')} >= %s AND {quote('date')} < %s "
                       f"AND {column} IN ({', '.join(['%s'] * len(ids))}) GROUP BY {column}",
                       [adapt(day - timedelta(days=TRAILING_DAYS - 1)), adapt(day), *ids])
        best = {entity: top or 0.0 for entity, top in cursor.fetchall()}
    for row in rows:
        today = row["pv_energy_kwh"] or 0.0
        top = max(today, best.get(row[column], 0.0))
        row["weather_factor"] = today / top if top > 0 else None
