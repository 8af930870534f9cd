"""Storage of the demo installation over a year: MB per day per table, and the totals after 30, 90
and 365 days, for today's layout and for the layout before the storage change.

How the year is simulated (bench/yearsim.py), on SQLite:

1. **Day 0, full density, the real path.** Every device at its own poll interval (inverters and
   the meter every 5 s, packs every 10 s with their 92 cells) through ``telemetry.ingest`` and
   ``telemetry.derive``, with the beat jobs (periodic rollup, retention) at their times in
   simulated time. The growth of each table over the day is its MB per day.
2. **A week, sparse.** Every device polled every 5 minutes, through the same path and jobs. The
   tiers and rollups of a day are the same number of rows whatever the poll density (one per
   device and slot or hour); the rollups bridge the 5-minute steps here
   (``SOLARMON_ROLLUP_GAP_INTERVALS`` raised) so these rows hold energy as real ones do.
3. **The rest of the year, repeated.** The week's tiers and rollups are copied forward week by
   week (times, local dates and days of the year moved on) up to day 365, and the size is read
   at days 30, 90 and 365. Day 0's raw samples become the last day of the year and are repeated
   back to fill the raw window (``SOLARMON_RAW_RETENTION_DAYS``). The retention job then runs
   at the end of the year as it would: the week's raw samples go (their tiers count them all).
4. **The layout before.** Day 0 again, in a database migrated to the schema before the change
   (telemetry and aggregation 0001: every index, no tiers), with every unit and cell row kept
   (``SOLARMON_CELL_INTERVAL_S=0``, as ingest wrote them then). Its year is computed from that
   day: raw samples for the old default 90 days, rollups (the same rows as today) for every day.

Run: ``.venv/bin/python bench/storage.py [--hours 24] [--keep year.sqlite3]`` (about half an hour
on an idle 2-core machine; ``--hours`` shortens the full-density days and scales them to a day;
``--keep`` saves the simulated year for bench/reads.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# The simulated year ends today, so that a kept year reads as live (bench/reads.py).
FIRST_DAY = date.today() - timedelta(days=365)
CHECKPOINTS = (30, 90, 365)
OLD_RAW_RETENTION_DAYS = 90
MB = 1e6


def _day_growth(sim: Any, hours: float) -> dict[str, float]:
    """Bytes per table added by ``hours`` of full-density polling, scaled to a day."""
    import yearsim

    before = yearsim.table_sizes()
    sim.run_until(sim.now + timedelta(hours=hours))
    after = yearsim.table_sizes()
    return {t: (after.get(t, 0) - before.get(t, 0)) * 24 / hours for t in after}


def _group(sizes: dict[str, float]) -> dict[str, float]:
    import yearsim

    groups = {"raw": yearsim.RAW_TABLES, "tiers": yearsim.TIER_TABLES, "rollups": yearsim.ROLLUP_TABLES}
    return {name: sum(sizes.get(t, 0) for t in tables) for name, tables in groups.items()}


def after_layout(url: str, data_dir: str, hours: float, week: int, keep: str | None) -> dict[str, Any]:
    """Today's layout: day 0 at full density, a sparse week, the year repeated, retention at the end."""
    env = {"SOLARMON_ROLLUP_GAP_INTERVALS": "100"}  # the sparse week's 5-minute steps are bridged
    import yearsim

    sim = yearsim.start(url, data_dir, first_day=FIRST_DAY, env=env)
    from django.conf import settings

    from aggregation.retention import prune_raw_samples

    raw_days = settings.SOLARMON_RAW_RETENTION_DAYS
    origin = sim.now
    began = time.perf_counter()
    per_day = _day_growth(sim, hours)
    if hours < 24:
        sim.run_until(origin + timedelta(days=1), step_s=300)
    full_s = time.perf_counter() - began
    began = time.perf_counter()
    sparse_before = yearsim.table_sizes()
    sim.run_days(week, step_s=300)
    sparse_growth = {t: (s - sparse_before.get(t, 0)) / week for t, s in yearsim.table_sizes().items()}
    sparse_s = time.perf_counter() - began

    began = time.perf_counter()
    kept = yearsim.TIER_TABLES + yearsim.ROLLUP_TABLES
    totals: dict[int, dict[str, int]] = {}
    covered = 1 + week  # day 0 and the sparse week
    for checkpoint in CHECKPOINTS:
        while covered < checkpoint:
            days = min(week, checkpoint - covered)
            yearsim.repeat_days(kept, origin + timedelta(days=1), days, [covered - 1])
            covered += days
        totals[checkpoint] = yearsim.table_sizes()
    # The raw window at the end of the year: day 0's samples, moved to the last day and repeated.
    last = origin + timedelta(days=365 - 1)
    yearsim.move_days(yearsim.RAW_TABLES, origin, 1, 365 - 1)
    yearsim.repeat_days(yearsim.RAW_TABLES, last, 1, [-k for k in range(1, raw_days)])
    pruned = prune_raw_samples(now=origin + timedelta(days=365))
    final = yearsim.table_sizes()
    raw_window = sum(final.get(t, 0) for t in yearsim.RAW_TABLES)
    copy_s = time.perf_counter() - began
    if keep:
        from django.db import connection

        connection.close()
        shutil.copy(url.removeprefix("sqlite:///"), keep)
    return {"per_day": per_day, "sparse_per_day": sparse_growth, "totals": totals, "final": final,
            "raw_window": raw_window, "raw_days": raw_days, "file": yearsim.file_size(),
            "pruned": pruned, "seconds": {"full": full_s, "sparse": sparse_s, "repeat": copy_s}}


def before_layout(url: str, data_dir: str, hours: float) -> dict[str, Any]:
    """The layout before: day 0 in the first schema, every unit and cell row kept, no rollups run."""
    import yearsim

    sim = yearsim.start(url, data_dir, first_day=FIRST_DAY, jobs=False, env={"SOLARMON_CELL_INTERVAL_S": "0"},
                        migrate_to=[("telemetry", "0001_initial"), ("aggregation", "0001_initial")])
    from django.db import connection

    from telemetry.signals import samples_written

    # No rollup tables to mark and no alert rules then.
    samples_written.disconnect(dispatch_uid="aggregation.mark_late_samples")
    samples_written.disconnect(dispatch_uid="alerts.evaluate_after_poll")
    with connection.cursor() as cursor:
        # Today's ingest names four more cell columns; empty, each costs one header byte a row.
        for column in ("voltage_min", "voltage_max", "temperature_min", "temperature_max"):
            cursor.execute(f"ALTER TABLE battery_cell_samples ADD COLUMN {column} REAL")
    for device in sim.installation.devices:
        if device.kind == "battery_pack":
            device.rows = _without_extremes(device.rows)
    return {"per_day": _day_growth(sim, hours)}


def _without_extremes(build: Any) -> Any:
    """The before layout's cell rows: without today's interval extremes (it had no such columns)."""
    def rows(reading: Any, ts: Any) -> list[Any]:
        out = build(reading, ts)
        for row in out:
            if hasattr(row, "voltage_min"):
                row.voltage_min = row.voltage_max = row.temperature_min = row.temperature_max = None
        return out
    return rows


def _child(which: str, url: str, data_dir: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", which, "--url", url, "--data-dir", data_dir,
               "--hours", str(args.hours), "--week", str(args.week)]
    if args.keep and which == "after":
        command += ["--keep", str(Path(args.keep).resolve())]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env={**os.environ})
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(value: float) -> str:
    return f"{value / MB:9.1f}"


def report(after: dict[str, Any], before: dict[str, Any]) -> None:
    a_day, b_day = after["per_day"], before["per_day"]
    tables = sorted({t for t in (*a_day, *b_day) if max(a_day.get(t, 0), b_day.get(t, 0)) > 0.05 * MB})
    print("MB per day, per table (day 0 at full density; before = the layout before the change)")
    print(f"  {'table':<28} {'before':>9} {'now':>9}")
    for table in tables:
        print(f"  {table:<28} {_mb(b_day.get(table, 0))} {_mb(a_day.get(table, 0))}")
    a_groups, b_groups = _group(a_day), _group(b_day)
    print(f"  {'all tables':<28} {_mb(sum(b_day.values()))} {_mb(sum(a_day.values()))}")
    steady = a_groups["tiers"] + a_groups["rollups"]
    sparse = _group(after["sparse_per_day"])
    print(f"  growth once the raw window is full (tiers + rollups): {steady / MB:.1f} MB/day; "
          f"a sparse day wrote {(sparse['tiers'] + sparse['rollups']) / MB:.1f}")
    print("\nTotal on disk after N days (MB)")
    print(f"  {'days':>5} {'before':>9} {'now':>9}   now: raw window + tiers + rollups")
    for day in CHECKPOINTS:
        sizes = {int(k): v for k, v in after["totals"].items()}.get(day) or after["final"]
        groups = _group(sizes)
        raw = after["raw_window"] * min(day, after["raw_days"]) / after["raw_days"]
        now = raw + groups["tiers"] + groups["rollups"] + _other(sizes)
        old = b_groups["raw"] * min(day, OLD_RAW_RETENTION_DAYS) + a_groups["rollups"] * day
        print(f"  {day:>5} {_mb(old)} {_mb(now)}   {raw / MB:.0f} + {groups['tiers'] / MB:.0f} + "
              f"{groups['rollups'] / MB:.0f}")
    print(f"\nSQLite file after the simulated year: {after['file'] / MB:.0f} MB "
          f"({after['raw_days']} days of raw samples); retention at the end deleted "
          f"{sum(after['pruned'].values())} rows")
    seconds = after["seconds"]
    print(f"time: full-density day {seconds['full']:.0f} s, sparse week {seconds['sparse']:.0f} s, "
          f"the rest of the year {seconds['repeat']:.0f} s")


def _other(sizes: dict[str, int]) -> int:
    import yearsim

    counted = set(yearsim.RAW_TABLES + yearsim.TIER_TABLES + yearsim.ROLLUP_TABLES)
    return sum(v for t, v in sizes.items() if t not in counted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0,
                        help="hours of full-density polling (scaled to a day)")
    parser.add_argument("--week", type=int, default=7, help="days simulated sparse, then repeated")
    parser.add_argument("--keep", help="save the simulated year (SQLite) here, for bench/reads.py")
    parser.add_argument("--child", choices=["after", "before"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import yearsim  # noqa: F401  (sets up the import path)

        if args.child == "after":
            result = after_layout(args.url, args.data_dir, args.hours, args.week, args.keep)
        else:
            result = before_layout(args.url, args.data_dir, args.hours)
        print(json.dumps(result, default=str))
        return
    with tempfile.TemporaryDirectory(prefix="solarmon-storage-") as tmp:
        runs = {}
        for which in ("after", "before"):
            folder = Path(tmp) / which
            folder.mkdir()
            runs[which] = _child(which, f"sqlite:///{folder / 'db.sqlite3'}", str(folder), args)
        report(runs["after"], runs["before"])


if __name__ == "__main__":
    main()
