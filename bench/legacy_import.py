"""import_legacy end to end: rows per second for the import alone and with the rollup recomputation.

Data: a database in the original system's own schema (its catalog copied from
``tests/legacy/data/example_legacy.sqlite``), holding one Powdrive inverter polled every 10 s
(energy and array rows) and one Pytes pack of 2 batteries × 15 cells polled every 30 s (pack, unit
and cell rows), for 7, 30 and 365 days. A year is about 3.2 M inverter rows, 3.2 M array rows and
31.5 M cell rows. Generated files are kept in ``var/bench/`` and reused.

Each size is imported by ``legacy.services.import_legacy`` into a fresh solarmon
database, in a process of its own, and timed per phase. "import" is everything up to and including the sample
copy, discovery rows and recorded intervals; "with rollups" adds solarmon's rollups of every
imported day. The rollups follow the copy in a thread of their own (``legacy.follow``), so most
days are rolled up within "import" (their time beside the copy is printed); "rollups" is what is
left after the copy. Beside the import (SQLite) a second process writes a row every 0.2 s in its own short
transaction, as polling does, and its longest wait is printed.
Run: ``.venv/bin/python bench/legacy_import.py [--days 7 30 365] [--backend
sqlite|postgresql|both]`` (SQLite by default: the target is stated for SQLite).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.legacy.original_db import Plan, generate  # noqa: E402

TARGET_ROWS_PER_S = 100_000
CACHE = ROOT / "var" / "bench"


def legacy_file(days: int) -> tuple[Path, float]:
    """The generated file for ``days`` (made once), and how long making it took (0 when cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"legacy-{days}d-inv10s-pack30s.sqlite"
    if path.exists():
        return path, 0.0
    began = time.monotonic()
    partial = path.with_suffix(".partial")
    generate(partial, Plan(days=days))
    partial.replace(path)
    return path, time.monotonic() - began


def measure(url: str, source: Path) -> None:
    """In a fresh process: migrate, import, print one JSON line with the figures."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")
    os.environ.setdefault("SOLARMON_LOG_LEVEL", "ERROR")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.db import connection

    from legacy.services import import_legacy

    poller = stop = None
    if connection.vendor == "sqlite":
        # A concurrent writer, as polling is: a short write transaction every POLL_EVERY_S, each
        # waiting (busy timeout) for the import's transactions; the longest wait is reported.
        path = str(connection.settings_dict["NAME"])
        receive, send = multiprocessing.Pipe(duplex=False)
        stop = multiprocessing.Event()
        timeout = float(settings.SOLARMON_SQLITE_TIMEOUT)
        poller = multiprocessing.Process(target=_poll, args=(path, timeout, stop, send))
        poller.start()
    began = time.time()
    result = import_legacy(source)
    waits: list[float] = []
    if poller is not None and stop is not None:
        stop.set()
        timed = receive.recv()
        poller.join()
        waits = [w for _, w in timed]
        slow = sorted(timed, key=lambda tw: -tw[1])[:3]
        print("longest waits (s after the start, s):",
              ", ".join(f"{t - began:.1f}: {w:.3f}" for t, w in slow), file=sys.stderr)
    seconds = dict(result.seconds)
    rows = sum(t.rows for t in result.tables)
    rollups = seconds.get("rollups", 0.0)
    total = sum(v for k, v in seconds.items() if k != "report")
    print(json.dumps({"rows": rows, "tables": {t.table: t.rows for t in result.tables}, "seconds": seconds,
                      "cpu_seconds": result.cpu_seconds, "interrupted_writes": result.interrupted_writes,
                      "import_s": total - rollups, "total_s": total, "days_rolled": result.rolled_days,
                      "longest_write_s": result.longest_write_s,
                      "longest_rollup_s": result.longest_rollup_s,
                      "rollups_beside_copy_s": result.rollups_beside_copy_s,
                      "poll_writes": len(waits), "poll_longest_wait_s": max(waits, default=0.0),
                      "poll_waits_over_1s": sum(w > 1.0 for w in waits)}),
          flush=True)


POLL_EVERY_S = 0.2


def _poll(path: str, timeout_s: float, stop: Any, send: Any) -> None:
    """A writer beside the import: every POLL_EVERY_S one row in a table of its own, in a
    ``BEGIN IMMEDIATE`` transaction as solarmon's connections open theirs; sends its waits."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=timeout_s)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS bench_poll (t REAL)")
    waits = []
    while not stop.is_set():
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO bench_poll VALUES (?)", (time.time(),))
        conn.execute("COMMIT")
        waits.append((time.time(), time.perf_counter() - began))
        stop.wait(POLL_EVERY_S)
    conn.close()
    send.send(waits)


def _child(url: str, source: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--child", url, "--source", str(source)],
                         env={**os.environ, "DATABASE_URL": url}, check=True, capture_output=True, text=True)
    for text in out.stderr.splitlines():
        if text.startswith("longest waits"):
            print(f"{'':>10}{text}", flush=True)
    line = [text for text in out.stdout.splitlines() if text.startswith("{")][-1]
    figures: dict[str, object] = json.loads(line)
    return figures


def _report(days: int, figures: dict[str, object]) -> None:
    rows = int(figures["rows"])  # type: ignore[call-overload]
    import_s, total_s = float(figures["import_s"]), float(figures["total_s"])  # type: ignore[arg-type]
    phases = "  ".join(f"{name} {value:.1f} s" for name, value in figures["seconds"].items())  # type: ignore[attr-defined]
    cpu = figures["cpu_seconds"]
    cpu_total = sum(v for k, v in cpu.items() if k != "report")  # type: ignore[attr-defined]
    cpu_phases = "  ".join(f"{name} {value:.1f} s" for name, value in cpu.items())  # type: ignore[attr-defined]
    met = "met" if rows / total_s >= TARGET_ROWS_PER_S else "NOT met"
    print(f"{days:>4} days {rows:>12,} rows  import {import_s:7.1f} s {rows / import_s:>9,.0f} rows/s  "
          f"with rollups {total_s:7.1f} s {rows / total_s:>9,.0f} rows/s ({met}: "
          f"{TARGET_ROWS_PER_S:,})  longest transaction {figures['longest_write_s']:.2f} s (samples), "
          f"{figures['longest_rollup_s']:.2f} s (a day's rollups)  [{phases}]", flush=True)
    print(f"{'':>10}CPU time of the import's process {cpu_total:.1f} s ({rows / cpu_total:,.0f} rows per "
          f"CPU second; a busy machine inflates this far less than the wall time) [{cpu_phases}]; "
          f"{figures['interrupted_writes']} sample writes cut short at the lock's bound; the rollups' "
          f"thread beside the copy ran {figures.get('rollups_beside_copy_s', 0.0):.1f} s", flush=True)
    if figures.get("poll_writes"):
        print(f"{'':>10}a concurrent writer: {figures['poll_writes']} writes, longest wait "
              f"{figures['poll_longest_wait_s']:.3f} s, {figures['poll_waits_over_1s']} over 1 s", flush=True)
    print(f"{'':>10}{os.popen('uptime').read().strip()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="*", default=[7, 30, 365])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.child, Path(args.source))
        return
    files = {}
    for days in args.days:
        files[days], made = legacy_file(days)
        if made:
            print(f"generated {files[days].name} in {made:.0f} s", flush=True)
    if args.backend in ("sqlite", "both"):
        print("== SQLite")
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            for days in args.days:
                db = Path(tmp) / f"solarmon-{days}.sqlite3"
                figures = _child(f"sqlite:///{db}", files[days])
                _report(days, figures)
                size = sum(f.stat().st_size for f in Path(tmp).glob(f"solarmon-{days}.sqlite3*"))
                rows = int(figures["rows"])  # type: ignore[call-overload]
                print(f"{'':>10}solarmon's database {size / 1e9:.2f} GB, {size / rows:.0f} bytes per "
                      "sample row (tiers and rollups included)", flush=True)
                for leftover in Path(tmp).glob(f"solarmon-{days}.sqlite3*"):
                    leftover.unlink()
    if args.backend in ("postgresql", "both"):
        _run_postgres(args.days, files)


def _run_postgres(all_days: list[int], files: dict[int, Path]) -> None:
    try:
        from tests.setup.services import postgres_server

        server = postgres_server()
        url = server.__enter__()
    except Exception as exc:  # no PostgreSQL binaries here: say so, keep the SQLite figures
        print(f"== PostgreSQL skipped: {exc}")
        return
    try:
        import psycopg

        print("== PostgreSQL")
        for days in all_days:
            base = url.rsplit("/", 1)[0]
            with psycopg.connect(base + "/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS bench_legacy_{days}")
                conn.execute(f"CREATE DATABASE bench_legacy_{days}")
            _report(days, _child(f"{base}/bench_legacy_{days}", files[days]))
    finally:
        server.__exit__(None, None, None)


if __name__ == "__main__":
    main()
