"""The periodic rollup against one full recomputation of the same day, on the demo installation.

A day of the demo installation at full density (bench/yearsim.py: every device at its own poll
interval through the ingest path; or the newest raw day of a year kept by bench/storage.py, with
``--db``) is rolled up twice, from nothing:

- **periodic**: the beat task's 96 runs of the day (5, 20, 35 and 50 past each hour, UTC), each
  with its own ``now``, as ``aggregation.periodic.rollup_recent`` runs them; the watermarks start
  at the day's local midnight;
- **full**: ``aggregation.rollups.rollup_day`` once (tiers and every level's rows from the raw
  samples), the recomputation a backfill or ``manage.py rollup`` does.

Both are repeated (``--repeat``, each from nothing) and the fastest of each is reported, with
their ratio and the cost of single runs over the day (00:20 against 23:50, local), so the cost
per run can be seen not to grow with the hour of the day. SQLite.

With ``SOLARMON_ROLLUP_WHOLE_HOURS=true`` in the environment the runs close whole local hours only.

Run: ``.venv/bin/python bench/rollup.py [--db year.sqlite3] [--repeat 3] [--keep day.sqlite3]``
(``--keep``: the simulated day is kept, for ``--db`` next time).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import yearsim  # noqa: E402


def _clear(start: datetime, end: datetime) -> None:
    """Remove the day's tiers, rollups, marks and watermarks: roll it up from nothing."""
    from aggregation import models as m
    from aggregation.levels import DAILY, HOURLY

    day = start.astimezone(_tz()).date()
    tiers: list[Any] = list(m.TIER_MODELS)
    for tier in tiers:
        tier._default_manager.filter(ts__gte=start, ts__lt=end).delete()
    rollups: list[Any] = [*HOURLY, *DAILY]
    for model in rollups:
        model._default_manager.filter(**{"day" if model is m.MeterDaily else "date": day}).delete()
    m.DirtyDay.objects.all().delete()
    m.RollupWatermark.objects.all().delete()


def _tz() -> Any:
    from zoneinfo import ZoneInfo

    from catalog.models import System

    return ZoneInfo(System.objects.get().timezone)


def periodic_day(start: datetime) -> list[tuple[datetime, float, Any]]:
    """The day's 96 beat runs, each timed; watermarks start at the day's local midnight."""
    from aggregation import models as m
    from aggregation import periodic
    from aggregation.topology import Topology
    from catalog.models import System

    topo = Topology.load(System.objects.get())
    m.RollupWatermark.objects.bulk_create([
        m.RollupWatermark(device_type=kind, device_id=dev, system=topo.system, closed_until=start,
                          max_gap_s=gap) for kind, dev, gap in periodic.devices(topo)])
    runs = []
    now = start.replace(minute=5, second=0, microsecond=0)
    while now <= start + timedelta(days=1, minutes=10):
        began = time.perf_counter()
        report = periodic.rollup_recent(now)
        runs.append((now, time.perf_counter() - began, report))
        now += timedelta(minutes=15)
    return runs


def idle_runs(now: datetime, count: int = 20) -> float:
    """The median time of a run with nothing new (the fixed part of every run): ``count`` runs
    at the ``now`` of the day's last one."""
    from aggregation import periodic

    times = []
    for _ in range(count):
        began = time.perf_counter()
        report = periodic.rollup_recent(now)
        times.append(time.perf_counter() - began)
        assert not report.read and not report.written, "an idle run read or wrote"
    return statistics.median(times)


def full_day(day: date) -> float:
    from aggregation.rollups import rollup_day

    began = time.perf_counter()
    rollup_day("system", day)
    return time.perf_counter() - began


def newest_raw_day() -> tuple[date, datetime, datetime]:
    from aggregation.buckets import local_day
    from telemetry.models import EnergySample

    newest = EnergySample.objects.order_by("-ts").values_list("ts", flat=True).first()
    assert newest is not None, "no raw samples"
    day = newest.astimezone(_tz()).date() - timedelta(days=1)  # the last whole day
    bounds = local_day(day, _tz())
    return day, bounds.start_utc, bounds.end_utc


def measure(repeat: int) -> None:
    day, start, end = newest_raw_day()
    from telemetry.models import BatteryCellSample, EnergySample

    rows = EnergySample.objects.filter(ts__gte=start, ts__lt=end).count()
    cells = BatteryCellSample.objects.filter(ts__gte=start, ts__lt=end).count()
    from django.conf import settings

    print(f"day {day} (local), {rows} inverter samples, {cells} cell rows; "
          f"SOLARMON_ROLLUP_WHOLE_HOURS={settings.SOLARMON_ROLLUP_WHOLE_HOURS}")
    periodic_totals, fulls, days, idles = [], [], [], []
    for _ in range(repeat):
        _clear(start, end)
        runs = periodic_day(start)
        periodic_totals.append(sum(s for _, s, _ in runs))
        days.append(runs)
        idles.append(idle_runs(runs[-1][0]))
        _clear(start, end)
        fulls.append(full_day(day))
    best = min(periodic_totals)
    runs = days[periodic_totals.index(best)]
    full = min(fulls)
    print(f"periodic: {len(runs)} runs, {best:.2f} s in all (runs of each repeat: "
          f"{', '.join(f'{t:.2f}' for t in periodic_totals)} s)")
    print(f"full recomputation: {full:.2f} s (each repeat: {', '.join(f'{t:.2f}' for t in fulls)} s)")
    print(f"ratio periodic / full: {best / full:.2f}")
    tz = _tz()
    by_time = {now.astimezone(tz).strftime("%H:%M"): (seconds, report) for now, seconds, report in runs}
    # With SOLARMON_ROLLUP_WHOLE_HOURS only the runs at 5 past close anything: 00:05 against 23:05.
    for label in ("00:05", "00:20", "06:20", "12:20", "18:20", "23:05", "23:50"):
        if label in by_time:
            seconds, report = by_time[label]
            print(f"  run at {label}: {seconds * 1000:6.1f} ms, read {sum(report.read.values()):6d} samples, "
                  f"wrote {sum(report.written.values()):5d} rows")
    idle = idles[periodic_totals.index(best)]
    samples = sum(sum(r.read.values()) for _, _, r in runs)
    per_sample = (best - len(runs) * idle) / samples if samples else 0.0
    print(f"fixed part: a run with nothing new {idle * 1000:.2f} ms (each repeat: "
          f"{', '.join(f'{t * 1000:.2f}' for t in idles)} ms), {len(runs)} of them {len(runs) * idle:.2f} s; "
          f"the rest per sample read: {per_sample * 1e6:.2f} µs ({samples} samples)")
    typical = statistics.median(s for _, s, _ in runs)
    print(f"  median run {typical * 1000:.1f} ms; runs that also rebuild the daily rows (once an hour): "
          f"{statistics.median(s for n, s, _ in runs if n.minute == 5) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an SQLite year kept by bench/storage.py (copied; its newest raw day)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="keep the simulated day's database at this path (for --db)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="solarmon-rollup-") as tmp:
        path = Path(tmp) / "db.sqlite3"
        if args.db:
            shutil.copy(args.db, path)
            yearsim.setup_django(f"sqlite:///{path}", tmp)
        else:
            first = date.today() - timedelta(days=2)
            sim = yearsim.start(f"sqlite:///{path}", tmp, first_day=first, jobs=False)
            sim.run_days(1.05)
            if args.keep:
                from django.db import connection

                with connection.cursor() as cursor:
                    cursor.execute("VACUUM INTO %s", [args.keep])
        measure(args.repeat)


if __name__ == "__main__":
    main()
