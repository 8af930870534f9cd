"""Energy figures for Home Assistant, and the guard that keeps them from ever decreasing.

- Lifetime totals (``total_increasing``): an inverter's own counters when it reports them;
  otherwise, and for meters' export, packs, arrays and the system, the cumulative sum of
  the hourly rollups (counter deltas with glitch rejection, see docs/energy.md).
- Today's energy (``total``, ``last_reset`` = the system's local midnight): ``today_energy_kwh``,
  the one place to switch when aggregation offers a live selector.

``EnergyGuard`` holds the highest value published per sensor (persisted in ``EnergyMark``):
a published lifetime total never goes below it, and today's value never goes below the
day's mark. A recomputed rollup that comes out a little lower is held, never shown as a
drop that Home Assistant would book as a new meter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Sum

from aggregation import models as agg
from aggregation.selectors import OpenSpan, open_span, today_energy
from catalog import models as catalog
from integrations.models import EnergyMark

FLOW_COLUMNS = {  # state key → hourly rollup column
    "pv_total_kwh": "solar_energy_kwh", "load_total_kwh": "load_energy_kwh",
    "grid_import_total_kwh": "grid_import_energy_kwh", "grid_export_total_kwh": "grid_export_energy_kwh",
    "batt_charge_total_kwh": "battery_charge_energy_kwh",
    "batt_discharge_total_kwh": "battery_discharge_energy_kwh",
}
TODAY_FLOWS = {  # state key → flow of aggregation.selectors.today_energy
    "pv_today_kwh": "pv", "load_today_kwh": "load", "grid_import_today_kwh": "import",
    "grid_export_today_kwh": "export", "batt_charge_today_kwh": "charge",
    "batt_discharge_today_kwh": "discharge",
}
PACK_COLUMNS = {"batt_charge_total_kwh": "charge_energy_kwh",
                "batt_discharge_total_kwh": "discharge_energy_kwh"}
METER_COLUMNS = {"grid_import_total_kwh": "import_energy_kwh", "grid_export_total_kwh": "export_energy_kwh"}

Totals = dict[tuple[str, str], dict[str, float | None]]


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _grouped(model: Any, field: str, columns: dict[str, str], system_id: str, live: OpenSpan
             ) -> dict[str, dict[str, Any]]:
    rows = model.objects.filter(system_id=system_id, start_utc__lt=live.start).values(field).annotate(
        **{key: Sum(column) for key, column in columns.items()})
    sums = {row[field]: dict(row) for row in rows}
    for row in live.rows_of(model):
        total = sums.setdefault(row[field], {field: row[field]})
        for key, column in columns.items():
            if row.get(column) is not None:
                total[key] = (total.get(key) or 0.0) + row[column]
    return {dev: {k: _round(values.get(k)) for k in columns} for dev, values in sums.items()}


def lifetime_totals(system_id: str, now: datetime | None = None) -> Totals:
    """Cumulative rollup energy of every device and group of a system: five grouped queries over the
    stored hours, and the open span built on read (``aggregation.selectors.open_span``), so the
    totals do not depend on how far the periodic rollup has closed the current hour."""
    system = catalog.System.objects.filter(pk=system_id).first()
    out: Totals = {}
    if system is None:  # deleted since
        return out
    live = open_span(system, now)
    for kind, model, field, columns in (
            ("inverter", agg.InverterHourlyEnergy, "inverter_id", FLOW_COLUMNS),
            ("array", agg.ArrayHourlyEnergy, "array_id", FLOW_COLUMNS),
            ("system", agg.SystemHourlyEnergy, "system_id", FLOW_COLUMNS),
            ("pack", agg.BatteryBankHourly, "pack_id", PACK_COLUMNS),
            ("meter", agg.MeterHourlyEnergy, "meter_id", METER_COLUMNS)):
        for device_id, values in _grouped(model, field, columns, system_id, live).items():
            out[(kind, device_id)] = values
    return out


def today_energy_kwh(system_id: str, day: date, now: datetime) -> dict[str, float | None]:
    """kWh of each flow of ``system_id`` on its local ``day`` as of ``now``, live: the closed hours
    from the rollups and the open one from the raw samples (``aggregation.selectors.today_energy``,
    what the dashboard and the API show). Nothing when the system's today is another day."""
    today = today_energy(catalog.System.objects.get(pk=system_id), now)
    if today["date"] != day.isoformat():
        return dict.fromkeys(TODAY_FLOWS)
    return {key: _round(today[flow]) for key, flow in TODAY_FLOWS.items()}


def local_midnight(now: datetime, tz: str) -> datetime:
    """The start of ``now``'s local day in ``tz``, as an aware datetime (Home Assistant's last_reset)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time.min, tzinfo=zone)


class EnergyGuard:
    """Highest published value per energy sensor; values are raised to it, never below.

    ``marks`` are loaded from and saved to ``EnergyMark``; ``save()`` writes the changed ones
    in one statement.
    """

    def __init__(self, marks: dict[str, tuple[float, date | None]] | None = None) -> None:
        self.marks = marks if marks is not None else {}
        self.changed: set[str] = set()

    @classmethod
    def load(cls) -> EnergyGuard:
        return cls({m.key: (m.value, m.day) for m in EnergyMark.objects.all()})

    def total(self, key: str, value: float | None) -> float | None:
        """A lifetime total, never below what was published before."""
        mark = self.marks.get(key)
        if value is None:
            return mark[0] if mark else None
        if mark is not None and value <= mark[0]:
            return mark[0]
        self._set(key, value, None)
        return value

    def today(self, key: str, value: float | None, day: date) -> float | None:
        """Today's energy: never below the day's mark; a new day starts from its own value."""
        mark = self.marks.get(key)
        same_day = mark is not None and mark[1] == day
        if value is None:
            return mark[0] if mark and same_day else None
        if mark is not None and same_day and value <= mark[0]:
            return mark[0]
        self._set(key, value, day)
        return value

    def _set(self, key: str, value: float, day: date | None) -> None:
        self.marks[key] = (value, day)
        self.changed.add(key)

    def save(self) -> int:
        """Persist the marks that changed since the last save; returns how many."""
        if not self.changed:
            return 0
        rows = [EnergyMark(key=k, value=self.marks[k][0], day=self.marks[k][1]) for k in self.changed]
        EnergyMark.objects.bulk_create(rows, update_conflicts=True, unique_fields=["key"],
                                       update_fields=["value", "day", "updated_at"])
        self.changed.clear()
        return len(rows)

    def forget(self, prefixes: Iterable[str]) -> None:
        """Drop the marks of deleted devices (their keys start with ``kind:id:``)."""
        gone = [k for k in self.marks if any(k.startswith(p) for p in prefixes)]
        for key in gone:
            self.marks.pop(key)
            self.changed.discard(key)
        if gone:
            EnergyMark.objects.filter(key__in=gone).delete()
