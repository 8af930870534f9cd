"""Today's energy of a system, from its hourly rollups (summed) or, failing those, its daily row."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Sum

from aggregation import models as agg
from catalog import models as catalog

# (key shown on the page, hourly column, daily column or None when the daily table lacks it)
TODAY_FIELDS: list[tuple[str, str, str | None]] = [
    ("pv", "solar_energy_kwh", "pv_energy_kwh"),
    ("load", "load_energy_kwh", "load_energy_kwh"),
    ("import", "grid_import_energy_kwh", "grid_energy_imported_kwh"),
    ("export", "grid_export_energy_kwh", "grid_energy_exported_kwh"),
    ("charge", "battery_charge_energy_kwh", None),
    ("discharge", "battery_discharge_energy_kwh", None),
]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def today_energy(system: catalog.System, day: date) -> dict[str, Any]:
    """kWh of each flow on the system's local ``day``; ``hours`` is how many hourly rows were summed."""
    sums = agg.SystemHourlyEnergy.objects.filter(system=system, date=day).aggregate(
        hours=Count("hour_start"), **{key: Sum(hourly) for key, hourly, _ in TODAY_FIELDS})
    hours = sums.pop("hours")
    if hours:
        return {"date": day.isoformat(), "hours": hours, "source": "hourly",
                **{key: _rounded(value) for key, value in sums.items()}}
    daily = agg.SystemDailySummary.objects.filter(system=system, date=day).first()
    values = {key: _rounded(getattr(daily, column)) if daily and column else None
              for key, _, column in TODAY_FIELDS}
    return {"date": day.isoformat(), "hours": 0, "source": "daily" if daily else None, **values}
