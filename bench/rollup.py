"""Rollup cost against one plain scan of the same sample rows, on SQLite and PostgreSQL.

Data: 5-second samples of 4 inverters, 1 system meter and 2 battery packs (each 4 batteries of
16 cells), generated from the plant model. The rollup is the full recomputation of every local
day (hourly and daily rows at every level: inverters, array, system, packs, meter). The scan is
``SELECT SUM(...)`` over the same inverter, meter and pack rows, selected the same way (device
ids and a time range, through the (device, ts) index). Four floors are timed on the same rows:
grouping by device and quarter hour alone; the same with each row's predecessor; the statistics
the rollup tables hold (no energy); and those statistics with the predecessor, the least any
rollup that fills these columns and integrates between samples must do. Cell and unit rows are written
for the one-day set only (they are not read by rollups; they make the database realistic); the
7- and 30-day sets, which show that the cost grows linearly, have no cell rows.

Run: ``.venv/bin/python bench/rollup.py`` (SQLite, then PostgreSQL when it can be started);
``--days 1 7 30`` chooses the sizes, ``--backend sqlite`` one backend.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.simulators.plant import Plant  # noqa: E402

STEP_S = 5
FIRST_DAY = date(2025, 6, 1)
INVERTERS = 4
PACKS = 2
BATTERIES, CELLS = 4, 16
# The local (Asia/Karachi) day FIRST_DAY starts at 19:00 UTC the day before.
START = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=UTC) - timedelta(hours=5)
PLANT = Plant(start=START - timedelta(minutes=1), clock=lambda: START)


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")
    os.environ.setdefault("SOLARMON_LOG_LEVEL", "ERROR")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _catalog() -> None:
    from tests import factories as f

    sys_ = f.system("system", timezone="Asia/Karachi")
    arr = f.array("array1", sys_)
    for i in range(INVERTERS):
        f.inverter(f"inv{i + 1}", arr, rated_power_w=8000)
    ba = f.battery_array("battery_array1", sys_)
    for i in range(PACKS):
        f.pack(f"pack{i + 1}", ba, batteries=BATTERIES, cells=CELLS, nominal_kwh=14.0)
    f.attach(ba, arr)
    f.meter("grid_meter_1", sys_, type="grid")


def _rows(first_tick: int, ticks: int, cells: bool) -> dict[str, list[tuple[Any, ...]]]:
    """Rows per table for ``ticks`` ticks from ``first_tick``, in the column order of :data:`COLUMNS`."""
    from django.db import connection

    adapt = connection.ops.adapt_datetimefield_value
    out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in COLUMNS}
    for n in range(first_tick, first_tick + ticks):
        s = PLANT.state(START + timedelta(seconds=n * STEP_S))
        ts = adapt(s.ts)
        for i in range(INVERTERS):
            out["energy_samples"].append((
                ts, f"inv{i + 1}", "array1", "system", round(s.pv_w), round(s.load_w), round(s.battery_w),
                round(s.grid_w), s.soc, s.pv_kwh, s.load_kwh, s.charge_kwh, s.discharge_kwh, s.import_kwh,
                s.export_kwh))
        out["meter_samples"].append((ts, "grid_meter_1", "system", round(4 * s.grid_w), 230.0,
                                     round(4000 * s.import_kwh), round(4000 * s.export_kwh)))
        for p in range(PACKS):
            pack = f"pack{p + 1}"
            out["battery_bank_samples"].append((ts, pack, "battery_array1", "system", 52.0,
                                                2 * s.battery_w / 52, 2 * s.battery_w, s.soc, 25.0))
            if cells:
                for b in range(BATTERIES):
                    battery = f"{pack}_b{b}"
                    out["battery_unit_samples"].append((ts, battery, pack, "battery_array1", "system", b + 1,
                                                        52.0, s.battery_w / 104, s.soc))
                    out["battery_cell_samples"].extend(
                        (ts, f"{battery}_c{c}", battery, pack, "battery_array1", "system", b + 1, c, 3.25)
                        for c in range(CELLS))
    return out


COLUMNS = {
    "energy_samples": "ts, inverter_id, array_id, system_id, pv_power_w, load_power_w, batt_power_w, "
                      "grid_power_w, soc, pv_total_kwh, load_total_kwh, batt_charge_total_kwh, "
                      "batt_discharge_total_kwh, grid_import_total_kwh, grid_export_total_kwh",
    "meter_samples": "ts, meter_id, system_id, grid_power_w, grid_voltage_v, grid_import_wh, grid_export_wh",
    "battery_bank_samples": "ts, pack_id, battery_array_id, system_id, voltage, current, power_w, soc, "
                            "temperature",
    "battery_unit_samples": "ts, battery_id, pack_id, battery_array_id, system_id, power, voltage, current, "
                            "soc",
    "battery_cell_samples": "ts, cell_id, battery_id, pack_id, battery_array_id, system_id, power, cell, "
                            "voltage",
}


def _load(days: int, cells: bool) -> int:
    """Insert the samples an hour at a time; return the rows a rollup reads."""
    from django.db import connection, transaction

    read = 0
    per_hour = 3600 // STEP_S
    for hour in range(days * 24):
        rows = _rows(hour * per_hour, per_hour, cells)
        with transaction.atomic(), connection.cursor() as cursor:
            for table, data in rows.items():
                if data:
                    cols = COLUMNS[table]
                    marks = ", ".join(["%s"] * len(cols.split(",")))
                    cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", data)
        read += sum(len(rows[t]) for t in ("energy_samples", "meter_samples", "battery_bank_samples"))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return read


def _bounds(days: int) -> list[Any]:
    from django.db import connection

    return [connection.ops.adapt_datetimefield_value(START),
            connection.ops.adapt_datetimefield_value(START + timedelta(days=days))]


SCANNED = (("energy_samples", "inverter_id", [f"inv{i + 1}" for i in range(INVERTERS)], "pv_power_w"),
           ("meter_samples", "meter_id", ["grid_meter_1"], "grid_power_w"),
           ("battery_bank_samples", "pack_id", [f"pack{i + 1}" for i in range(PACKS)], "power_w"))


def _scan(days: int) -> float:
    """One plain ``SELECT SUM(column)`` per sample table, under the rollup's planner settings."""
    from django.db import connection

    from aggregation.sql import tuned

    began = time.perf_counter()
    with tuned(), connection.cursor() as cursor:
        for table, device, ids, column in SCANNED:
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(f"SELECT SUM({column}) FROM {table} WHERE {device} IN ({marks}) "
                           "AND ts >= %s AND ts < %s", [*ids, *_bounds(days)])
            cursor.fetchall()
    return time.perf_counter() - began


def _statistics(days: int, *, paired: bool = False, stats: bool = True) -> float:
    """A floor under any rollup: only the statistics the rollup tables hold, no energy at all.

    One GROUP BY (device, quarter hour) per table computing the sample count and the sums, counts,
    maxima and minima behind the tables' average, max and min columns (the aggregates the rollup
    computes, from :mod:`aggregation.sources`), over the same rows. With ``paired``, each row also
    gets its predecessor's time, the least a trapezoid needs, the cheapest way each database
    offers (PostgreSQL: one LEAD in index order; SQLite: the rollup's numbered copy joined to row
    number + 1, faster there than a window function), and the intervals are summed. Without
    ``stats``, only the rows per group are counted: the cost of grouping (and pairing) alone.
    """
    from django.db import connection

    from aggregation import sources
    from aggregation.sql import tuned

    began = time.perf_counter()
    with tuned(), connection.cursor() as cursor:
        for table, (_, _, ids, _) in zip((sources.ENERGY, sources.METER, sources.PACK), SCANNED, strict=True):
            if not stats:
                table = dataclasses.replace(table, stats={})
            for sql, params in _floor_statements(table, ids, days, paired):
                cursor.execute(sql, params)
            cursor.fetchall()
    return time.perf_counter() - began


def _floor_statements(table: Any, ids: list[str], days: int, paired: bool) -> list[tuple[str, list[Any]]]:
    from django.db import connection

    from aggregation.sql import AGGREGATES, _base

    def aggregates(prefix: str) -> str:
        return "".join(f", {AGGREGATES[a]}({prefix}{alias})"
                       for alias, names in table.stats.items() for a in names)

    base, params = f"({_base(table, len(ids))}) b", [*ids, *_bounds(days)]
    if not paired:
        return [(f"SELECT dev, FLOOR(t / 900), COUNT(*){aggregates('')} FROM {base} GROUP BY 1, 2", params)]
    if connection.vendor == "postgresql":
        rows = f"(SELECT b.*, LEAD(t) OVER (PARTITION BY dev ORDER BY ts DESC) AS t_1 FROM {base}) p"
        return [(f"SELECT dev, FLOOR(t / 900), COUNT(*){aggregates('')}, SUM(t_1 - t) FROM {rows} "
                 "GROUP BY 1, 2", params)]
    cols = ", ".join(["dev", "t", *table.stats])
    return [("DROP TABLE IF EXISTS temp.floor_rows", []),
            (f"CREATE TEMP TABLE floor_rows (rn INTEGER PRIMARY KEY, {cols})", []),
            (f"INSERT INTO floor_rows ({cols}) SELECT {cols} FROM {base} ORDER BY dev, ts", params),
            (f"SELECT r.dev, FLOOR(r.t / 900), COUNT(*){aggregates('r.')}, SUM(r.t - b.t) "
             "FROM floor_rows r LEFT JOIN floor_rows b ON b.rn = r.rn - 1 AND b.dev = r.dev "
             "GROUP BY 1, 2", [])]


def _rollup(days: int) -> float:
    from aggregation.rollups import rollup_day

    began = time.perf_counter()
    for n in range(days):
        rollup_day("system", FIRST_DAY + timedelta(days=n))
    return time.perf_counter() - began


def measure(database_url: str, days: int, cells: bool) -> None:
    """Load ``days`` days into a fresh database and print scan and rollup times."""
    _setup_django(database_url)
    _catalog()
    rows = _load(days, cells)
    scan = min(_scan(days) for _ in range(3))
    floors = {
        "group": min(_statistics(days, stats=False) for _ in range(3)),
        "pair+group": min(_statistics(days, stats=False, paired=True) for _ in range(3)),
        "stats": min(_statistics(days) for _ in range(3)),
        "pair+stats": min(_statistics(days, paired=True) for _ in range(3)),
    }
    rollup = min(_rollup(days) for _ in range(2 if days == 1 else 1))
    figures = "  ".join(f"{name} {value * 1000:.0f} ms ({value / scan:.1f}x)"
                        for name, value in floors.items())
    size = f"{days:>3} day(s) {rows:>9} rows{' +cells' if cells else ''}"
    print(f"{size}  scan {scan * 1000:.0f} ms  {figures}  "
          f"rollup {rollup * 1000:.0f} ms ({rollup / scan:.1f}x), {rollup / days * 1000:.0f} ms per day",
          flush=True)


def _child(url: str, days: int, cells: bool) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    extra = ["--cells"] if cells else []
    command = [sys.executable, __file__, "--child", url, "--days", str(days), *extra]
    subprocess.run(command, env=env, check=True)


def _postgres_url(server_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="*", default=[1, 7, 30])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cells", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.child, args.days[0], args.cells)
        return
    if args.backend in ("sqlite", "both"):
        print("== SQLite")
        with tempfile.TemporaryDirectory() as tmp:
            for days in args.days:
                db = Path(tmp) / f"bench-{days}.sqlite3"
                _child(f"sqlite:///{db}", days, cells=days == 1)
    if args.backend in ("postgresql", "both"):
        _run_postgres(args.days)


def _run_postgres(all_days: list[int]) -> None:
    try:
        from tests.setup.services import postgres_server
        server = postgres_server()
        url = server.__enter__()
    except Exception as exc:  # no PostgreSQL binaries here: say so, don't fail the SQLite figures
        print(f"== PostgreSQL skipped: {exc}")
        return
    try:
        print("== PostgreSQL")
        for days in all_days:
            _child(_postgres_url(url, f"bench_{days}"), days, cells=days == 1)
    finally:
        server.__exit__(None, None, None)


if __name__ == "__main__":
    main()
