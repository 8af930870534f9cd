"""The import's final report: what each table held and where its rows went, then per device and
local day the rows imported, their time span, and the energy solarmon computes beside what the
original's own hourly tables say (with the difference)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Sum

from aggregation import models as am
from legacy.placement import Placement
from legacy.scan import Scan

Flows = dict[str, float]
HOURLY_FLOWS = {"pv": "solar_energy_kwh", "load": "load_energy_kwh", "import": "grid_import_energy_kwh",
                "export": "grid_export_energy_kwh", "charge": "battery_charge_energy_kwh",
                "discharge": "battery_discharge_energy_kwh"}
METER_FLOWS = {"import": "import_energy_kwh", "export": "export_energy_kwh"}
PACK_FLOWS = {"charge": "charge_energy_kwh", "discharge": "discharge_energy_kwh"}


@dataclass
class TableLine:
    """One sample table: rows in the file, rows this run wrote, rows that were there before it (an
    earlier run's, or duplicates in the file), values cleared."""

    table: str
    rows: int
    written: int
    present: int
    cleared: dict[str, int] = field(default_factory=dict)


@dataclass
class DeviceDay:
    """One device on one local day."""

    kind: str
    device: str
    day: date
    rows: int | None
    first: str
    last: str
    ours: Flows
    theirs: Flows | None

    def line(self) -> str:
        rows = f"{self.rows:>7,} rows {self.first}-{self.last}" if self.rows is not None else f"{'':>31}"
        parts = []
        for flow, value in self.ours.items():
            text = f"{flow} {value:.3f}"
            theirs = (self.theirs or {}).get(flow)
            if theirs is not None:
                diff = f"{(value - theirs) / theirs * 100:+.2f} %" if theirs else f"{value - theirs:+.3f}"
                text += f" (original {theirs:.3f}, {diff})"
            parts.append(text)
        return f"{self.kind:<8} {self.device:<16} {self.day}  {rows}  " + ", ".join(parts) + " kWh"


@dataclass
class LegacyReport:
    """Everything the import did, and what it would do (dry run)."""

    path: str
    shape: str
    dry_run: bool
    catalog: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    tables: list[TableLine] = field(default_factory=list)
    discovery: list[str] = field(default_factory=list)
    imported_hours: int = 0
    recorded_intervals: int = 0
    rolled_days: int = 0
    days: list[DeviceDay] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    # The longest transaction the import held open while writing samples, and a day's rollups.
    longest_write_s: float = 0.0
    longest_rollup_s: float = 0.0
    # Seconds the rollups ran beside the sample copy (legacy.follow), in its own thread.
    rollups_beside_copy_s: float = 0.0
    # Sample writes rolled back at the lock's bound and done again in smaller batches.
    interrupted_writes: int = 0
    # Rollup writes rolled back at the lock's bound and written again in pieces (or tried again).
    interrupted_rollup_writes: int = 0

    def lines(self) -> list[str]:
        out = [f"{self.path}: the original's database, {self.shape} shape"
               + (" (dry run: nothing written)" if self.dry_run else "")]
        out += [f"catalog: {line}" for line in self.catalog]
        out += [f"{'would create' if self.dry_run else 'created'}: {line}" for line in self.created]
        out.append(f"{'table':<24}{'rows':>12}{'new this run':>14}{'already there':>15}  "
                   "values not stored (implausible)")
        for t in self.tables:
            cleared = ", ".join(f"{name} {count:,}" for name, count in t.cleared.items() if count) or "-"
            out.append(f"{t.table:<24}{t.rows:>12,}{t.written:>14,}{t.present:>15,}  {cleared}")
        out += [f"discovery: {line}" for line in self.discovery]
        if self.imported_hours:
            out.append(f"hourly_energy: {self.imported_hours} hours of days without samples imported from "
                       "the original's hourly table (source 'imported')")
        if not self.dry_run:
            out.append(f"rollups: {self.rolled_days} system-days recomputed from the imported samples; "
                       f"{self.recorded_intervals} recorded poll intervals")
        out += [day.line() for day in self.days]
        timing = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
        rows = sum(t.rows for t in self.tables)
        total = sum(self.seconds.values())
        rate = rows / total if total else 0.0
        out.append(f"{rows:,} sample rows in {total:.1f} s ({rate:,.0f} rows/s): {timing}")
        if not self.dry_run:
            cut = [f"{count} {what}" for count, what in ((self.interrupted_writes, "sample writes"),
                                                         (self.interrupted_rollup_writes, "rollup writes"))
                   if count]
            out.append(f"longest transaction: {self.longest_write_s:.2f} s writing samples, "
                       f"{self.longest_rollup_s:.2f} s writing a day's rollups"
                       + (f" ({' and '.join(cut)} cut short at the lock's bound and redone smaller)"
                          if cut else ""))
        return out


def device_days(conn: sqlite3.Connection, scan: Scan, placement: Placement, legacy_system: str | None
                ) -> list[DeviceDay]:
    """Per device and local day: rows, span, solarmon's energy and the original's hourly figures."""
    out: list[DeviceDay] = []
    inverters = {legacy: ids[0] for legacy, ids in placement.inverters.items()}
    ours = _sums(am.InverterHourlyEnergy, "inverter_id", list(inverters.values()), HOURLY_FLOWS)
    theirs = _legacy_sums(conn, "hourly_energy", "inverter_id", HOURLY_FLOWS)
    out += _days("inverter", scan.days.get("energy_samples", {}), inverters, ours, theirs)
    arrays = {legacy: ids[0] for legacy, ids in placement.arrays.items()}
    for _, array_id, _ in placement.inverters.values():
        arrays.setdefault(array_id, array_id)
    out += _days("array", scan.days.get("array_samples", {}), arrays,
                 _sums(am.ArrayHourlyEnergy, "array_id", list(arrays.values()), HOURLY_FLOWS),
                 _legacy_sums(conn, "array_hourly_energy", "array_id", HOURLY_FLOWS))
    systems = {sid: sid for sid in placement.system_ids}
    legacy_systems = _legacy_sums(conn, "system_hourly_energy", "system_id", HOURLY_FLOWS)
    if legacy_system is not None and len(systems) == 1:
        only = next(iter(systems))
        legacy_systems = {(only, day): flows for (sid, day), flows in legacy_systems.items()
                          if sid == legacy_system}
    out += _days("system", {}, systems,
                 _sums(am.SystemHourlyEnergy, "system_id", list(systems), HOURLY_FLOWS), legacy_systems)
    packs = {legacy: ids[0] for legacy, ids in placement.packs.items()}
    out += _days("pack", scan.days.get("battery_bank_samples", {}), packs,
                 _sums(am.BatteryBankDaily, "pack_id", list(packs.values()), PACK_FLOWS, "date"), {})
    meters = {legacy: ids[0] for legacy, ids in placement.meters.items()}
    out += _days("meter", scan.days.get("meter_samples", {}), meters,
                 _sums(am.MeterDaily, "meter_id", list(meters.values()), METER_FLOWS, "day"),
                 _legacy_sums(conn, "meter_hourly_energy", "meter_id", METER_FLOWS))
    return out


def _days(kind: str, scanned: dict[str, Any], devices: dict[str, str],
          ours: dict[tuple[str, str], Flows], theirs: dict[tuple[str, str], Flows]) -> list[DeviceDay]:
    out = []
    for legacy, target in sorted(devices.items()):
        seen = scanned.get(legacy, {})
        days = sorted({day for dev, day in ours if dev == target} | set(seen))
        for day in days:
            flows = ours.get((target, day))
            if flows is None and day not in seen:
                continue
            stats = seen.get(day)
            out.append(DeviceDay(kind, target, date.fromisoformat(day), stats.rows if stats else None,
                                 stats.first[11:19] if stats else "", stats.last[11:19] if stats else "",
                                 flows or {}, theirs.get((legacy, day))))
    return out


def _sums(model: Any, key: str, ids: list[str], flows: dict[str, str], day_field: str = "date"
          ) -> dict[tuple[str, str], Flows]:
    rows = (model.objects.filter(**{f"{key}__in": ids}).values(key, day_field)
            .annotate(**{flow: Sum(column) for flow, column in flows.items()}))
    return {(row[key], row[day_field].isoformat()): {flow: row[flow] or 0.0 for flow in flows}
            for row in rows}


def _legacy_sums(conn: sqlite3.Connection, table: str, key: str, flows: dict[str, str]
                 ) -> dict[tuple[str, str], Flows]:
    try:
        columns = ", ".join(f"sum({column})" for column in flows.values())
        rows = conn.execute(f"SELECT {key}, date, {columns} FROM legacy.{table} GROUP BY 1, 2").fetchall()
    except sqlite3.Error:
        return {}  # the file has no such table (or not in this shape): nothing to compare with
    out: dict[tuple[str, str], Flows] = defaultdict(dict)
    for dev, day, *values in rows:
        out[(str(dev), str(day))] = {flow: float(v or 0.0) for flow, v in zip(flows, values, strict=True)}
    return dict(out)
