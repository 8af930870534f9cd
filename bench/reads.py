"""Response times of every dashboard page and read endpoint on a simulated year of the demo installation.

The year is the one bench/storage.py builds and keeps (``--keep``): a year of 5-minute tiers and
hourly and daily rollups, and the raw window of the last days at full density, ending about now.
Each page and endpoint is asked ``--repeat`` times through Django's test client (the whole
request: middleware, session login, view, template or serializer; no network), logged in as a
staff user, in a process started as the web server starts (``solarmon.wsgi``), and its p50 and
p95 are printed, with the p95 of the process's CPU time per request. The target is at most
150 ms at the 95th percentile (100 ms for what the charts ask, labels "chart: ...").

The year's tiers reach its last slot; its rollup watermarks are set there before measuring, as
the periodic rollup leaves them on a running system (the kept year's own marks are those of the
simulated week it was copied from, which made "after the last closed slot" most of the year).

Run: ``.venv/bin/python bench/reads.py --db year.sqlite3 [--repeat 40]``. With
``--database-url postgres://…`` the year is first copied into that (empty) PostgreSQL database,
table by table with COPY, and measured there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import yearsim  # noqa: E402

TARGET_MS = 150.0
CHART_TARGET_MS = 100.0  # what a chart asks for (labels "chart: ..."), on any range


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def requests(end: datetime) -> list[tuple[str, str]]:
    """(label, URL) of every page and read endpoint, with the ranges a user asks for."""
    from catalog import models as catalog

    today = end.date()
    pack = catalog.BatteryPack.objects.order_by("pk").first()
    inverter = catalog.Inverter.objects.order_by("pk").first()
    meter = catalog.Meter.objects.order_by("pk").first()
    assert pack and inverter and meter

    def series(kind: str, device: str, days: float, **extra: str) -> str:
        query = {"start": _iso(end - timedelta(days=days)), "end": _iso(end), "points": "1000", **extra}
        return f"/api/series/{kind}/{device}/?{urlencode(query)}"

    cell = catalog.BatteryCell.objects.filter(pack=pack).order_by("pk").first()
    assert cell

    def cell_series(cell: catalog.BatteryCell, days: float) -> str:
        query = {"start": _iso(end - timedelta(days=days)), "end": _iso(end), "points": "720"}
        return f"/api/series/cell/{cell.pk}/?{urlencode(query)}"

    def weakest(days: float) -> str:
        query = {"start": _iso(end - timedelta(days=days)), "end": _iso(end)}
        return f"/api/battery-packs/{pack.pk}/weakest-cell/?{urlencode(query)}"

    month = today.strftime("%Y-%m")
    dates = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    out = [
        ("page: overview", "/"), ("page: today.json", "/today.json"),
        ("page: history, a day (system)", f"/history/?period=day&day={today}"),
        ("page: history, a month (system)", f"/history/?period=month&month={month}"),
        ("page: history, a month (pack)", f"/history/?period=month&month={month}&target=pack:{pack.pk}"),
        ("page: history.csv, a month", f"/history.csv?period=month&month={month}"),
        ("page: battery", "/battery/"), ("page: discovery", "/discovery/"),
        ("api: live", "/api/systems/system/live/"), ("api: hierarchy", "/api/systems/system/hierarchy/"),
        ("api: today, system", "/api/energy/today/system/system/"),
        ("api: today, inverter", f"/api/energy/today/inverter/{inverter.pk}/"),
        ("api: device status", "/api/device-status/"),
        ("api: series system, a day", series("system", "system", 1)),
        ("api: series system, a week", series("system", "system", 7)),
        ("api: series system, a month", series("system", "system", 30)),
        ("api: series system, a year", series("system", "system", 365)),
        ("api: series inverter, a day", series("inverter", inverter.pk, 1)),
        ("api: series pack cells, a day", series("battery_pack", pack.pk, 1, fields="cell_voltage,soc")),
        ("api: series pack cells, a year", series("battery_pack", pack.pk, 365, fields="cell_voltage,soc")),
        ("api: series meter, a month", series("meter", meter.pk, 30)),
        # What the charts ask (charts.js: 720 points; a local day, a week, a month, a year).
        ("chart: system today", series("system", "system", 1, points="720")),
        ("chart: inverter today", series("inverter", inverter.pk, 1, points="720")),
        ("chart: system a week", series("system", "system", 7, points="720")),
        ("chart: system a month", series("system", "system", 30, points="720")),
        ("chart: system a year", series("system", "system", 365, points="720")),
        ("chart: system an hour (zoomed)", series("system", "system", 1 / 24, points="720")),
        ("chart: pack cells a day", series("battery_pack", pack.pk, 1, points="720", fields="cell_voltage")),
        ("chart: pack cells a month", series("battery_pack", pack.pk, 30, points="720",
                                             fields="cell_voltage")),
        ("chart: pack SOC, temp a month", series("battery_pack", pack.pk, 30, points="720",
                                                 fields="soc,temperature")),
        ("chart: one cell a day", cell_series(cell, 1)),
        ("chart: one cell a month", cell_series(cell, 30)),
        ("chart: weakest cell a day", weakest(1)),
        ("chart: weakest cell a month", weakest(30)),
        ("chart: weakest cell a year", weakest(365)),
    ]
    for level in ("inverters", "arrays", "systems", "packs", "meters"):
        out.append((f"api: {level} hourly, a month", f"/api/energy/{level}/hourly/?{urlencode(dates)}"))
        out.append((f"api: {level} daily, a year", f"/api/energy/{level}/daily/"))
        out.append((f"api: {level} hourly, first page", f"/api/energy/{level}/hourly/"))
    out.append(("api: inverters hourly, by inverter, last page",
                "/api/energy/inverters/hourly/?ordering=-inverter_id&offset=26000"))
    out.append(("api: packs hourly, by pack", "/api/energy/packs/hourly/?ordering=pack_id"))
    for resource in ("systems", "arrays", "inverters", "battery-arrays", "battery-packs", "batteries",
                     "cells", "meters", "adapter-types", "adapters", "pack-adapters", "attachments",
                     "discovered-devices", "discovery-ports"):
        out.append((f"api: {resource}", f"/api/{resource}/"))
    return out


def set_watermarks(closed: datetime) -> None:
    """The rollup watermarks as the periodic rollup leaves them having closed the slots up to
    ``closed``: there, or with ``SOLARMON_ROLLUP_WHOLE_HOURS`` at the last local hour's end before."""
    from django.conf import settings

    from aggregation.models import RollupWatermark
    from aggregation.periodic import whole_hours_until
    from aggregation.topology import Topology
    from catalog.models import System

    if settings.SOLARMON_ROLLUP_WHOLE_HOURS:
        closed = whole_hours_until(Topology.current(System.objects.get()), closed)
    RollupWatermark.objects.update(closed_until=closed)


def close_tiers() -> None:
    """The rollup watermarks at the end of the newest tier slot, as a running system has them."""
    from aggregation.buckets import SLOT_S
    from aggregation.models import SystemTier

    newest = SystemTier.objects.order_by("-ts").values_list("ts", flat=True).first()
    if newest is not None:
        set_watermarks(newest + timedelta(seconds=SLOT_S))


def copy_to_postgres(sqlite_path: Path) -> None:
    """Copy every table of the SQLite year into the (migrated, empty) default PostgreSQL database."""
    import sqlite3

    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection, transaction

    source = sqlite3.connect(sqlite_path)
    ours = set(connection.introspection.table_names())
    tables = [name for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
              if name in ours and name != "django_migrations"]
    began = time.perf_counter()
    rows = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        kinds = {}
        for table in tables:
            described = connection.introspection.get_table_description(cursor, table)
            kinds[table] = {c.name: c.type_code for c in described}
        for table in tables:
            mine = kinds[table]
            columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})") if row[1] in mine]
            booleans = [i for i, c in enumerate(columns) if mine[c] == 16]  # bool's type oid
            names = ", ".join(f'"{c}"' for c in columns)
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {names} FROM {table}"):
                    if booleans:
                        row = tuple(bool(v) if i in booleans and v is not None else v
                                    for i, v in enumerate(row))
                    copy.write_row(row)
                    rows += 1
        for sql in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
            cursor.execute(sql)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"copied {rows} rows of {len(tables)} tables into PostgreSQL in "
          f"{time.perf_counter() - began:.0f} s", flush=True)


def measure(repeat: int, only: str | None = None) -> None:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from telemetry.models import EnergySample

    end = EnergySample.objects.order_by("-ts").values_list("ts", flat=True).first()
    assert end is not None, "the database has no raw samples"
    close_tiers()
    client = Client()
    user = (User.objects.filter(username="bench").first()
            or User.objects.create_superuser("bench", password="x"))
    client.force_login(user)
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} "
          f"before the run; {connection.vendor}; SOLARMON_ROLLUP_WHOLE_HOURS="
          f"{settings.SOLARMON_ROLLUP_WHOLE_HOURS}", flush=True)
    worst = 0.0
    # CPU: this process's own (the view, and SQLite's work; not PostgreSQL's server), so load
    # on the machine shows in the wall times and hardly in it.
    print(f"{'request':<40} {'p50 ms':>8} {'p95 ms':>8} {'CPU p95':>8}  status")
    chart_worst = 0.0
    for label, url in requests(end):
        if only and not label.startswith(only):
            continue
        target = CHART_TARGET_MS if label.startswith("chart:") else TARGET_MS
        times, cpu, status, points = [], [], 0, ""
        for _ in range(repeat):
            began, began_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
            status = response.status_code
        if label.startswith("chart:") and status == 200 and "points" in response.json():
            body = response.json()
            points = f"  {len(body['points'])} points, {body['step_s']} s, {body['source']}"
        times.sort()
        cpu.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        cpu95 = cpu[min(len(cpu) - 1, round(0.95 * (len(cpu) - 1)))]
        worst = max(worst, p95)
        if label.startswith("chart:"):
            chart_worst = max(chart_worst, p95)
        flag = "" if p95 <= target else "  over the target"
        print(f"{label:<40} {statistics.median(times):8.1f} {p95:8.1f} {cpu95:8.1f}  {status}{points}{flag}",
              flush=True)
    if not only:
        worst = max(worst, _today_late_in_the_day(end, repeat))
    print(f"slowest p95: {worst:.1f} ms (target {TARGET_MS:.0f} ms); "
          f"slowest chart p95: {chart_worst:.1f} ms (target {CHART_TARGET_MS:.0f} ms)")


def _today_late_in_the_day(end: datetime, repeat: int) -> float:
    """today_energy at the end of the simulated day, the periodic rollup 20 minutes behind: 23 stored
    hours, the last hour built from its tiers and 20 minutes of raw samples (with whole hours: the
    last hour from raw samples); the pages above read today after the year's last day, when it has
    no samples yet."""
    from aggregation.selectors import today_energy
    from catalog.models import System

    behind = end - timedelta(minutes=20)
    set_watermarks(behind.replace(minute=behind.minute - behind.minute % 5, second=0, microsecond=0))
    system = System.objects.get()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        figures = today_energy(system, end + timedelta(seconds=1))
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(f"{'selector: today at 23:59, 20 min live':<40} {statistics.median(times):8.1f} {p95:8.1f}  "
          f"({figures['hours']} stored hours, pv {figures['pv']} kWh)")
    return p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the year kept by bench/storage.py --keep (copied)")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--only", help='only the requests whose label starts so (e.g. "chart:")')
    parser.add_argument("--database-url", help="an empty PostgreSQL database: the year is copied there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="solarmon-reads-") as tmp:
        path = Path(tmp) / "db.sqlite3"
        shutil.copy(args.db, path)
        env = {"ALLOWED_HOSTS": "testserver,localhost"}
        if args.database_url:
            # The year at this schema first (its migrations run on the copy), then into PostgreSQL.
            subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True,
                           env={**os.environ, "DATABASE_URL": f"sqlite:///{path}", "SOLARMON_DATA_DIR": tmp,
                                "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-key-" + "x" * 40)})
            yearsim.setup_django(args.database_url, tmp, env=env)
            copy_to_postgres(path)
        else:
            yearsim.setup_django(f"sqlite:///{path}", tmp, env=env)
        import solarmon.wsgi  # noqa: F401  (as the web server starts: the start-up heap frozen)

        measure(args.repeat, args.only)


if __name__ == "__main__":
    main()
