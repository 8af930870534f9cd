"""A year of the demo installation, simulated quickly through the real ingest path.

The installation is ``examples/config.yaml`` (3 inverters, 1 system meter, 2 packs with 92
cells), imported with the YAML importer. Every device follows the demo's deterministic plant
(``solarmon.demo.DemoPlants``): PV, load, battery and grid, exact energy counters, cell
voltages that follow the state of charge. Readings are shaped as the drivers return them
(whole watts, 0.1 kWh counters, mV cells) and go through ``telemetry.ingest`` (the rows a poll
writes, in one idempotent write) and ``telemetry.derive`` (array and system totals), exactly
as a poll does; only the wire is left out.

Time is simulated: a tick is written as fast as the database takes it, and the periodic jobs of
``solarmon.schedule`` (rollups, tiers, retention) run at their beat times in simulated time,
with the simulated "now". To cover a year quickly, a stretch can be simulated *sparse*: every
device is polled every ``step_s`` seconds instead of at its own interval. Rollup and tier rows
are the same in number whatever the density (one per device and slot or hour), so a sparse
stretch builds the long-lived history at a fraction of the cost; the stretch that stays raw
at the end is simulated at full density.

Used by bench/storage.py, bench/rollup.py and bench/reads.py::

    sim = yearsim.start("sqlite:///tmp/year.sqlite3", first_day=date(2025, 1, 1))
    sim.run_days(351, step_s=300)        # sparse: history only
    sim.run_days(14)                     # full density: the raw window
    print(yearsim.table_sizes())
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "examples" / "config.yaml"


def setup_django(database_url: str, data_dir: str, *, migrate: bool = True,
                 env: dict[str, str] | None = None) -> None:
    """Point Django at ``database_url`` (a data dir of its own) and migrate it."""
    os.environ["SOLARMON_DATA_DIR"] = data_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-key-" + "x" * 40)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")
    os.environ["SOLARMON_LOG_LEVEL"] = os.environ.get("SOLARMON_LOG_LEVEL", "ERROR")
    os.environ.update(env or {})
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)


def load_demo_catalog() -> None:
    """The demo installation, from the example file, through the YAML importer."""
    from catalog.yamlconfig import import_config

    import_config(EXAMPLE)


# ---- readings, shaped as the drivers return them ------------------------------------------
def _inverter_reading(state: Any, midnight: Any) -> Any:
    from adapters.readings import InverterReading
    from adapters.simulators.modbus_devices import battery_volts, counters

    volts = battery_volts(state.soc, 51.2)
    # Registers hold whole watts and 0.1 kWh.
    values: dict[str, Any] = {k: round(float(v), 1) for k, v in counters(state, midnight).items()}
    return InverterReading(
        pv_power_w=round(state.pv_w), load_power_w=round(state.load_w), grid_power_w=round(state.grid_w),
        batt_power_w=round(state.battery_w), batt_voltage_v=volts,
        batt_current_a=round(state.battery_w / volts, 1), soc=float(round(state.soc)), inverter_mode=2,
        inverter_temp_c=round(32.0 + state.pv_w / 800.0, 1),
        grid_voltage_v=round(229.0 + state.load_w / 2000, 1), grid_frequency_hz=50.0, **values)


def _meter_reading(state: Any) -> Any:
    from adapters.readings import MeterReading

    third = state.grid_w / 3
    amps = round(abs(state.grid_w) / 230.0 / 3, 2)
    return MeterReading(
        grid_power_w=round(state.grid_w), grid_voltage_v=230.1, grid_current_a=round(3 * amps, 2),
        grid_frequency_hz=50.0, grid_import_wh=round(state.import_kwh * 1000),
        grid_export_wh=round(state.export_kwh * 1000), energy_kwh=round(state.import_kwh, 2),
        power_factor=0.98, voltage_phase_a=230.1, voltage_phase_b=229.8, voltage_phase_c=230.4,
        current_phase_a=amps, current_phase_b=amps, current_phase_c=amps,
        power_phase_a=round(third), power_phase_b=round(third), power_phase_c=round(third))


def _pack_reading(state: Any, batteries: int, cells: int, serial_prefix: str, status: bool) -> Any:
    from adapters.readings import BatteryUnitReading, CellReading, battery_pack_from_units
    from adapters.simulators.battery import battery_units

    indexes = list(range(1, batteries + 1))
    units = []
    for sim in battery_units(state, indexes, cells,
                             serials={i: f"{serial_prefix}{i:08d}" for i in indexes}):
        mode = "Charge" if sim.current_a > 0.05 else "Dischg" if sim.current_a < -0.05 else "Idle"
        extra: dict[str, Any] = ({"basic_st": mode, "volt_st": "Normal", "current_st": "Normal",
                                  "temp_st": "Normal", "coul_st": None} if status else {})
        units.append(BatteryUnitReading(
            index=sim.index, voltage=round(sim.voltage_v, 3), current=round(sim.current_a, 3),
            temperature=round(sim.temperature_c, 1), soc=float(round(sim.soc)), power=round(sim.power_w, 2),
            cycles=sim.cycles, capacity_ah=sim.capacity_ah, serial_number=sim.serial_number,
            cells=[CellReading(index=i, voltage=mv / 1000, temperature=round(t, 1) if status else None)
                   for i, (mv, t) in enumerate(zip(sim.cells_mv, sim.cell_temps_c, strict=True))],
            **extra))
    return battery_pack_from_units(units)


def _inverter_source(plant: Any) -> Callable[[datetime], Any]:
    offset = timedelta(hours=plant.params.utc_offset_h)

    def read(ts: datetime) -> Any:
        local = (ts + offset).replace(hour=0, minute=0, second=0, microsecond=0) - offset
        return _inverter_reading(plant.state(ts), plant.state(max(local, plant.origin)))
    return read


def _meter_source(plant: Any) -> Callable[[datetime], Any]:
    def read(ts: datetime) -> Any:
        return _meter_reading(plant.state(ts))
    return read


def _pack_source(plant: Any, batteries: int, cells: int, prefix: str, status: bool
                 ) -> Callable[[datetime], Any]:
    def read(ts: datetime) -> Any:
        return _pack_reading(plant.state(ts), batteries, cells, prefix, status)
    return read


def _rows(build: Callable[[Any, Any, datetime], list[Any]], device: Any, reading: Any, ts: datetime
          ) -> list[Any]:
    return build(device, reading, ts)


@dataclass
class SimDevice:
    """One polled device: its kind, catalog row, poll interval and how to read it at an instant."""

    kind: str
    device_id: str
    interval_s: int
    read: Callable[[datetime], Any]
    rows: Callable[[Any, datetime], list[Any]]


class DemoInstallation:
    """The catalog's devices, each with its plant, interval and row builder."""

    def __init__(self, origin: datetime) -> None:
        from catalog import models as catalog
        from solarmon.demo import DemoPlants
        from telemetry import ingest
        from telemetry.polling import device_refs

        self.origin = origin
        plants = DemoPlants(origin)
        self.system = catalog.System.objects.get()
        self.tz = ZoneInfo(self.system.timezone)
        self.devices: list[SimDevice] = []
        for ref in device_refs():
            interval = int(ref.interval_s)
            if ref.kind == "inverter":
                inverter = catalog.Inverter.objects.get(pk=ref.device_id)
                self.devices.append(SimDevice("inverter", inverter.pk, interval,
                                              _inverter_source(plants.for_inverter(inverter.pk)),
                                              partial(_rows, ingest.inverter_rows, inverter)))
            elif ref.kind == "meter":
                meter = catalog.Meter.objects.get(pk=ref.device_id)
                self.devices.append(SimDevice("meter", meter.pk, interval,
                                              _meter_source(plants.for_meter(meter)),
                                              partial(_rows, ingest.meter_rows, meter)))
            else:
                pack = catalog.BatteryPack.objects.get(pk=ref.device_id)
                config = ref.adapters[0].config
                batteries = int(config.get("batteries") or len(config.get("addresses") or [1]))
                cells = int(config.get("cells_per_battery", 16))
                status = ref.adapters[0].adapter_type == "pytes"  # the console reports status words
                self.devices.append(SimDevice(
                    "battery_pack", pack.pk, interval,
                    _pack_source(plants.for_pack(pack.pk), batteries, cells, f"SIM{pack.pk[:4].upper()}",
                                 status),
                    partial(_rows, ingest.pack_rows, pack)))

    @property
    def tick_s(self) -> int:
        from math import gcd

        step = 0
        for device in self.devices:
            step = gcd(step, device.interval_s)
        return step or 5


# ---- the periodic jobs, at their beat times in simulated time ----------------------------
@dataclass
class JobRun:
    name: str
    at: datetime
    seconds: float
    result: Any


@dataclass
class Jobs:
    """``solarmon.schedule``'s crontab entries for the aggregation tasks, run at simulated times."""

    services: dict[str, Callable[[datetime], Any]]
    runs: list[JobRun] = field(default_factory=list)
    enabled: bool = True
    _next: dict[str, datetime] = field(default_factory=dict)
    _crontabs: dict[str, tuple[set[int], set[int] | None]] = field(default_factory=dict)

    @classmethod
    def from_schedule(cls) -> Jobs:
        from solarmon.schedule import beat_entries

        services = task_services()
        jobs = cls({})
        for entry in beat_entries():
            if entry.crontab and entry.task in services:
                minute, hour = entry.crontab.split()
                jobs.services[entry.name] = services[entry.task]
                jobs._crontabs[entry.name] = (_field(minute, 60), None if hour == "*" else _field(hour, 24))
        return jobs

    def start_at(self, now: datetime) -> None:
        for name in self.services:
            self._next[name] = self._after(name, now)

    def _after(self, name: str, ts: datetime) -> datetime:
        minutes, hours = self._crontabs[name]
        candidate = ts.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while candidate.minute not in minutes or (hours is not None and candidate.hour not in hours):
            candidate += timedelta(minutes=1)
        return candidate

    def fire_until(self, now: datetime) -> None:
        """Run every job whose time has come, in time order (a job sees its own instant as now)."""
        if not self.enabled:
            return
        while True:
            due = [(at, name) for name, at in self._next.items() if at <= now]
            if not due:
                return
            at, name = min(due)
            began = time.perf_counter()
            result = self.services[name](at)
            self.runs.append(JobRun(name, at, time.perf_counter() - began, result))
            self._next[name] = self._after(name, at)


def _field(text: str, size: int) -> set[int]:
    return set(range(size)) if text == "*" else {int(v) for v in text.split(",")}


def task_services() -> dict[str, Callable[[datetime], Any]]:
    """The service each aggregation beat task calls, taking the time as ``now``."""
    from aggregation import periodic

    return periodic.SERVICES


# ---- the simulation ----------------------------------------------------------------------
class YearSimulation:
    """Ticks of the demo installation through the ingest path, jobs in between."""

    def __init__(self, installation: DemoInstallation, jobs: Jobs, start: datetime) -> None:
        self.installation = installation
        self.jobs = jobs
        self.now = start
        self.rows_written = 0
        self.jobs.start_at(start)

    def ticks(self, end: datetime, step_s: int | None) -> Iterator[tuple[datetime, list[SimDevice]]]:
        tick = step_s or self.installation.tick_s
        ts = self.now
        while ts < end:
            epoch = int(ts.timestamp())
            due = [d for d in self.installation.devices
                   if step_s is not None or epoch % d.interval_s == 0]
            yield ts, due
            ts += timedelta(seconds=tick)

    def run_until(self, end: datetime, *, step_s: int | None = None) -> None:
        """Poll every device at its interval (or every ``step_s``) until ``end``, running the jobs."""
        from telemetry import ingest
        from telemetry.derive import derive_samples

        system_id = self.installation.system.pk
        for ts, due in self.ticks(end, step_s):
            self.jobs.fire_until(ts)
            for device in due:
                result = ingest.write_rows(device.rows(device.read(ts), ts))
                self.rows_written += result.written
            if due:
                derive_samples(system_id, ts)
            self.now = ts + timedelta(seconds=step_s or self.installation.tick_s)
        self.now = max(self.now, end)
        self.jobs.fire_until(self.now)

    def run_days(self, days: float, *, step_s: int | None = None) -> None:
        self.run_until(self.now + timedelta(days=days), step_s=step_s)


def start(database_url: str, data_dir: str, *, first_day: date, jobs: bool = True,
          env: dict[str, str] | None = None, migrate_to: list[tuple[str, str]] | None = None
          ) -> YearSimulation:
    """A migrated database with the demo catalog, ready to simulate from ``first_day`` local midnight.

    ``migrate_to`` stops the migrations there (an older schema, for the layout before a change).
    """
    setup_django(database_url, data_dir, env=env, migrate=migrate_to is None)
    if migrate_to is not None:
        from django.core.management import call_command
        from django.db.models.signals import post_migrate

        # The apps' post-migrate hooks (default rules, discovery settings) need today's tables.
        hooks, post_migrate.receivers = post_migrate.receivers, []
        try:
            for app, name in migrate_to:
                call_command("migrate", app, name, verbosity=0)
            from django.apps import apps
            from django.db.migrations.loader import MigrationLoader

            held = {app for app, _ in migrate_to}
            for label in sorted(MigrationLoader(None, ignore_no_migrations=True).migrated_apps - held):
                if apps.is_installed(apps.get_app_config(label).name):
                    call_command("migrate", label, verbosity=0)  # the other apps as they are today
        finally:
            post_migrate.receivers = hooks
            post_migrate.sender_receivers_cache.clear()
    load_demo_catalog()
    from catalog.models import System

    tz = ZoneInfo(System.objects.get().timezone)
    origin = datetime.combine(first_day, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    installation = DemoInstallation(origin - timedelta(minutes=1))
    schedule = Jobs.from_schedule()
    schedule.enabled = jobs
    return YearSimulation(installation, schedule, origin)


# ---- what is on disk ---------------------------------------------------------------------
def table_sizes() -> dict[str, int]:
    """Bytes in use per table, its indexes included (SQLite: dbstat; PostgreSQL: relation sizes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = 'public' AND c.relkind = 'r'")
            return dict(cursor.fetchall())
        cursor.execute("SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat s "
                       "JOIN sqlite_master m ON m.name = s.name GROUP BY m.tbl_name")
        return {name: int(size) for name, size in cursor.fetchall()}


def index_sizes(table: str) -> dict[str, int]:
    """SQLite: bytes per b-tree of one table (the table itself and each index)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT s.name, SUM(s.pgsize) FROM dbstat s JOIN sqlite_master m ON m.name = s.name "
                       "WHERE m.tbl_name = %s GROUP BY s.name", [table])
        return {name: int(size) for name, size in cursor.fetchall()}


def file_size() -> int:
    """Bytes the database occupies on disk (SQLite: pages in the file; PostgreSQL: the database)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute("PRAGMA page_size")
        return int(pages * cursor.fetchone()[0])


def row_counts(tables: list[str]) -> dict[str, int]:
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            out[table] = int(cursor.fetchone()[0])
    return out



# ---- time compression: whole days repeated --------------------------------------------------
# Columns holding a time, per table kind: shifted by whole days when days are repeated.
DATETIME_COLUMNS = ("ts", "start_utc")
DATE_COLUMNS = ("date", "day")


def _shifted(column: str, days: int) -> str:
    from django.db import connection

    quoted = connection.ops.quote_name(column)
    postgres = connection.vendor == "postgresql"
    if column in DATETIME_COLUMNS:
        return f"{quoted} + INTERVAL '{days} days'" if postgres else f"datetime({quoted}, '{days:+d} days')"
    if column in DATE_COLUMNS:
        return f"{quoted} + {days}" if postgres else f"date({quoted}, '{days:+d} days')"
    if column == "day_of_year":
        return (f"CAST(EXTRACT(DOY FROM date + {days}) AS INTEGER)" if postgres
                else f"CAST(strftime('%j', date(date, '{days:+d} days')) AS INTEGER)")
    if column == "year":
        return (f"CAST(EXTRACT(YEAR FROM date + {days}) AS INTEGER)" if postgres
                else f"CAST(strftime('%Y', date(date, '{days:+d} days')) AS INTEGER)")
    return quoted


def columns_of(table: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, table)]


def repeat_days(tables: list[str], source_start: datetime, source_days: int, shifts: list[int]) -> int:
    """Copy the rows of ``source_days`` days from ``source_start`` forward by each of ``shifts`` days.

    Tiers and rollups repeat exactly as the source days were written by the rollup path, their
    times, local dates and days of the year moved on. Returns the rows written.
    """
    from django.db import connection, transaction

    from catalog.models import System

    written = 0
    source_end = source_start + timedelta(days=source_days)
    adapt = connection.ops.adapt_datetimefield_value
    tz = ZoneInfo(System.objects.get().timezone)  # rollup dates are the system's local dates
    for shift in shifts:
        with transaction.atomic(), connection.cursor() as cursor:
            for table in tables:
                columns = columns_of(table)
                time = next((c for c in ("ts", "start_utc", "date", "day") if c in columns), None)
                if time is None:
                    continue
                bounds: list[Any] = ([adapt(source_start), adapt(source_end)] if time in DATETIME_COLUMNS
                          else [source_start.astimezone(tz).date(), source_end.astimezone(tz).date()])
                quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
                select = ", ".join(_shifted(c, shift) for c in columns)
                cursor.execute(f"INSERT INTO {table} ({quoted}) SELECT {select} FROM {table} "
                               f"WHERE {time} >= %s AND {time} < %s ORDER BY {time}", bounds)
                written += max(cursor.rowcount, 0)
    return written


RAW_TABLES = ["energy_samples", "meter_samples", "battery_bank_samples", "battery_unit_samples",
              "battery_cell_samples", "array_samples", "system_samples"]
TIER_TABLES = ["energy_samples_5min", "meter_samples_5min", "battery_bank_samples_5min", "array_samples_5min",
               "system_samples_5min", "battery_cell_samples_5min"]
ROLLUP_TABLES = ["hourly_energy", "array_hourly_energy", "system_hourly_energy", "meter_hourly_energy",
                 "battery_bank_hourly", "daily_summary", "array_daily_summary", "system_daily_summary",
                 "meter_daily", "battery_bank_daily"]


def move_days(tables: list[str], source_start: datetime, days: int, shift: int) -> int:
    """Move the rows of ``days`` days from ``source_start`` forward by ``shift`` days, in place."""
    from django.db import connection, transaction

    adapt = connection.ops.adapt_datetimefield_value
    moved = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"UPDATE {table} SET ts = {_shifted('ts', shift)} WHERE ts >= %s AND ts < %s",
                           [adapt(source_start), adapt(source_start + timedelta(days=days))])
            moved += max(cursor.rowcount, 0)
    return moved
