"""``weather_factor``: the day's PV energy ÷ the best day's PV energy of the trailing 30 days
(the day itself and the 29 before it), so 1.0 is the best day of the last month and a cloudy day
reads e.g. 0.4. It compares the site with itself, so it needs no irradiance data. Days before
the first rolled-up day simply do not count; a month without PV gives NULL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Max

from aggregation import models as m

TRAILING_DAYS = 30

# daily model → its entity column
ENTITY = {m.InverterDailySummary: "inverter_id", m.ArrayDailySummary: "array_id",
          m.SystemDailySummary: "system_id"}


def add_weather_factors(model: type[Any], day: date, rows: list[dict[str, Any]]) -> None:
    """Set ``weather_factor`` on each new daily row of ``model`` for ``day``."""
    column = ENTITY[model]
    earlier = (model.objects.filter(date__gte=day - timedelta(days=TRAILING_DAYS - 1), date__lt=day,
                                    **{f"{column}__in": [r[column] for r in rows]})
               .values(column).annotate(best=Max("pv_energy_kwh")))
    best = {r[column]: r["best"] or 0.0 for r in earlier}
    for row in rows:
        today = row["pv_energy_kwh"] or 0.0
        top = max(today, best.get(row[column], 0.0))
        row["weather_factor"] = today / top if top > 0 else None
