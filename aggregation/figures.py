"""Column values of rollup rows, from aggregates (devices) or from child rows (arrays, systems).

Rules (docs/energy.md): an array is the sum of its inverters and a system the sum of its arrays
for the same local bucket; where a meter measures the grid (an array meter for an array, a
system-level meter for the system) the grid figures are the meter's, replacing, never adding
to, the inverters' figures. Coverage of a sum is its least-covered part.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aggregation.accounting import combine_sources
from aggregation.buckets import Hour
from aggregation.choices import GridSource
from aggregation.stats import FLOWS, Agg, avg, count, coverage, energy, merge, source

Fields = dict[str, Any]

ENERGY_COLUMNS = {
    "solar_energy_kwh": "pv", "load_energy_kwh": "load", "battery_charge_energy_kwh": "charge",
    "battery_discharge_energy_kwh": "discharge", "grid_import_energy_kwh": "import",
    "grid_export_energy_kwh": "export",
}
POWER_COLUMNS = {"avg_solar_power_w": "p_pv", "avg_load_power_w": "p_load",
                 "avg_battery_power_w": "p_batt", "avg_grid_power_w": "p_grid"}
GRID_COLUMNS = ("grid_import_energy_kwh", "grid_export_energy_kwh", "avg_grid_power_w")


def hourly_energy(agg: Agg, seconds: float) -> Fields:
    """An inverter's hour."""
    fields: Fields = {col: energy(agg, flow) for col, flow in ENERGY_COLUMNS.items()}
    fields.update({col: avg(agg, name) for col, name in POWER_COLUMNS.items()})
    fields.update(sample_count=count(agg), source=source(agg, FLOWS), coverage=coverage(agg, seconds))
    return fields


def _sum(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def sum_rows(rows: list[Fields | None]) -> Fields:
    """The sum of child rows of one bucket; a missing child (None) has zero coverage."""
    present = [r for r in rows if r is not None]
    fields: Fields = {col: sum(r[col] for r in present) for col in ENERGY_COLUMNS}
    fields.update({col: _sum(r[col] for r in present) for col in POWER_COLUMNS})
    fields["sample_count"] = sum(r["sample_count"] for r in present)
    fields["source"] = combine_sources([r["source"] for r in present])
    fields["coverage"] = min((r["coverage"] if r else 0.0) for r in rows) if rows else 0.0
    return fields


def meter_grid(meters: list[Agg], seconds: float) -> Fields | None:
    """Grid figures of one bucket from the meters that have samples in it, or None."""
    with_data = [m for m in meters if count(m)]
    if not with_data:
        return None
    return {
        "grid_import_energy_kwh": sum(energy(m, "import") for m in with_data),
        "grid_export_energy_kwh": sum(energy(m, "export") for m in with_data),
        "avg_grid_power_w": _sum(avg(m, "p_grid") for m in with_data),
        "source": source(merge(with_data), ("import", "export")),
        "coverage": min(coverage(m, seconds) for m in with_data),
    }


def with_grid(fields: Fields, grid: Fields | None) -> Fields:
    """Replace the grid figures by a meter's, when there is one."""
    if grid is None:
        return {**fields, "grid_source": GridSource.INVERTERS}
    out = {**fields, **{col: grid[col] for col in GRID_COLUMNS}, "grid_source": GridSource.METER}
    out["source"] = combine_sources([fields["source"], grid["source"]])
    out["coverage"] = min(fields["coverage"], grid["coverage"])
    return out


def peak_hour(hours: dict[Hour, Fields], column: str) -> int | None:
    """Local hour with the most energy in ``column``, or None if there was none."""
    best = max(hours.items(), key=lambda kv: kv[1][column] or 0.0, default=None)
    if best is None or not best[1][column]:
        return None
    return best[0].hour_start


def cycles(discharge_kwh: float | None, capacity_kwh: float | None) -> float | None:
    """Full-cycle equivalents: discharged energy over usable capacity."""
    if discharge_kwh is None or not capacity_kwh:
        return None
    return discharge_kwh / capacity_kwh


def pack_hourly(agg: Agg, seconds: float) -> Fields:
    charge, discharge = energy(agg, "charge"), energy(agg, "discharge")
    return {
        "charge_energy_kwh": charge, "discharge_energy_kwh": discharge,
        "net_energy_kwh": charge - discharge, "avg_power_w": avg(agg, "p_batt"),
        "avg_soc_pct": avg(agg, "soc"), "min_soc_pct": agg.get("min_soc"), "max_soc_pct": agg.get("max_soc"),
        "avg_voltage_v": avg(agg, "volt"), "avg_current_a": avg(agg, "amp"),
        "avg_temperature_c": avg(agg, "temp"), "sample_count": count(agg),
        "source": source(agg, ("charge", "discharge")), "coverage": coverage(agg, seconds),
        **cell_band(agg),
    }


def cell_band(agg: Agg) -> Fields:
    """The lowest and highest cell voltage of the pack in the bucket, and the mean over its cells."""
    return {"min_cell_voltage_v": agg.get("min_cellv"), "max_cell_voltage_v": agg.get("max_cellv"),
            "avg_cell_voltage_v": avg(agg, "cellv")}


def pack_daily(agg: Agg, seconds: float, capacity_kwh: float | None) -> Fields:
    charge, discharge = energy(agg, "charge"), energy(agg, "discharge")
    fields: Fields = {"charge_energy_kwh": charge, "discharge_energy_kwh": discharge,
                      "net_energy_kwh": charge - discharge, "cycles": cycles(discharge, capacity_kwh),
                      "sample_count": count(agg), "source": source(agg, ("charge", "discharge")),
                      "coverage": coverage(agg, seconds)}
    for name, col in (("soc", "soc_pct"), ("volt", "voltage_v"), ("temp", "temperature_c"),
                      ("amp", "current_a")):
        fields.update({f"min_{col}": agg.get(f"min_{name}"), f"max_{col}": agg.get(f"max_{name}"),
                       f"avg_{col}": avg(agg, name)})
    fields.update(cell_band(agg))
    return fields


def meter_hourly(agg: Agg, seconds: float) -> Fields:
    return {"import_energy_kwh": energy(agg, "import"), "export_energy_kwh": energy(agg, "export"),
            "avg_power_w": avg(agg, "p_grid"), "sample_count": count(agg),
            "source": source(agg, ("import", "export")), "coverage": coverage(agg, seconds)}


def meter_daily(agg: Agg, seconds: float) -> Fields:
    imp, exp = energy(agg, "import"), energy(agg, "export")
    top, bottom = agg.get("max_p_grid"), agg.get("min_p_grid")
    return {
        "import_energy_kwh": imp, "export_energy_kwh": exp, "net_energy_kwh": imp - exp,
        "max_import_power_w": round(max(top, 0)) if top is not None else None,
        "max_export_power_w": round(max(-bottom, 0)) if bottom is not None else None,
        "avg_voltage_v": avg(agg, "volt"), "avg_current_a": avg(agg, "amp"),
        "avg_frequency_hz": avg(agg, "freq"), "sample_count": count(agg),
        "source": source(agg, ("import", "export")), "coverage": coverage(agg, seconds),
    }


def daily_summary(hours: dict[Hour, Fields], day_seconds: float, *, powers: Fields,
                  soc: tuple[float | None, float | None, float | None],
                  capacity_kwh: float | None) -> Fields:
    """A day of an inverter, array or system, from its hourly rows and its day-level figures.

    ``powers`` holds pv/load max and average power and grid max import/export in W.
    """
    rows = list(hours.values())
    fields: Fields = {col: sum(r[col] for r in rows) for col in ENERGY_COLUMNS}
    return {
        "pv_energy_kwh": fields["solar_energy_kwh"], "load_energy_kwh": fields["load_energy_kwh"],
        "grid_energy_imported_kwh": fields["grid_import_energy_kwh"],
        "grid_energy_exported_kwh": fields["grid_export_energy_kwh"],
        "pv_peak_hour": peak_hour(hours, "solar_energy_kwh"),
        "load_peak_hour": peak_hour(hours, "load_energy_kwh"),
        "battery_min_soc_pct": soc[0], "battery_max_soc_pct": soc[1], "battery_avg_soc_pct": soc[2],
        "battery_cycles": cycles(fields["battery_discharge_energy_kwh"], capacity_kwh),
        "sample_count": sum(r["sample_count"] for r in rows),
        "source": combine_sources([r["source"] for r in rows]),
        "coverage": sum(r["coverage"] * h.seconds for h, r in hours.items()) / day_seconds,
        **powers,
    }


def device_powers(agg: Agg) -> Fields:
    """Day power figures of one inverter: sample maxima and averages."""
    top, bottom = agg.get("max_p_grid"), agg.get("min_p_grid")
    return {"pv_max_power_w": agg.get("max_p_pv"), "pv_avg_power_w": avg(agg, "p_pv"),
            "load_max_power_w": agg.get("max_p_load"), "load_avg_power_w": avg(agg, "p_load"),
            "grid_max_import_w": max(top, 0.0) if top is not None else None,
            "grid_max_export_w": max(-bottom, 0.0) if bottom is not None else None}
