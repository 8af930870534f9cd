"""What ``manage.py storage`` (and the admin's Storage page) costs as the database grows.

The report reads every page of an SQLite database once (``dbstat``) and counts the last day's
rows of each growing table through its ``ts`` index. This loads cell samples of one pack
(4 batteries × 16 cells, one row per cell every 10 s, the last day's share growing with the
total) in steps, and times the report, the disk guard's check and the storage status (the
banner of every page) at each size.

Run: ``.venv/bin/python bench/storage_report.py [--rows 100000 400000]`` (SQLite in a
temporary folder).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup(data_dir: str) -> None:
    os.environ["SOLARMON_DATA_DIR"] = data_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-key-" + "x" * 40)
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")
    os.environ["SOLARMON_LOG_LEVEL"] = "ERROR"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _load(rows: int, already: int) -> None:
    """Cell rows, newest first from now back, 64 per 10-second tick."""
    from django.utils import timezone

    from catalog import models as catalog
    from telemetry import models as t
    from tests import factories as f

    if not catalog.System.objects.exists():
        sys_ = f.system("system", timezone="UTC")
        f.pack("pack1", f.battery_array("ba1", sys_), batteries=4, cells=16)
    cells = list(catalog.BatteryCell.objects.order_by("battery__battery_index", "cell_index"))
    now = timezone.now()
    batch: list[t.BatteryCellSample] = []
    for n in range(already, rows):
        cell = cells[n % len(cells)]
        ts = now - timedelta(seconds=10 * (n // len(cells)))
        batch.append(t.BatteryCellSample(ts=ts, cell_ref_id=cell.pk, battery_id=cell.battery_id,
                                         pack_id="pack1", battery_array_id="ba1", system_id="system",
                                         power=cell.battery.battery_index + 1, cell=cell.cell_index,
                                         voltage=3.3, temperature=24.0))
        if len(batch) == 5000:
            t.BatteryCellSample.objects.bulk_create(batch)
            batch = []
    t.BatteryCellSample.objects.bulk_create(batch)


def _time(fn: Callable[[], object], repeat: int = 1) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 400_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        _setup(data_dir)
        from aggregation.diskguard import guard_disk
        from aggregation.storage_report import storage_report
        from aggregation.storage_status import storage_status

        print(f"{'cell rows':>10} {'DB MB':>8} {'report s':>9} {'ms/MB':>7} {'guard ms':>9} "
              f"{'status ms':>10}")
        loaded = 0
        for rows in sorted(args.rows):
            _load(rows, loaded)
            loaded = rows
            report_s = _time(storage_report)
            size_mb = storage_report().database_bytes / 2**20
            guard_ms = _time(guard_disk, 5) * 1000
            status_ms = _time(storage_status, 50) * 1000
            print(f"{rows:>10,} {size_mb:>8.1f} {report_s:>9.2f} {report_s * 1000 / size_mb:>7.1f} "
                  f"{guard_ms:>9.2f} {status_ms:>10.3f}")


if __name__ == "__main__":
    main()
