"""A bus lock's own CPU per poll: taken and freed as ``telemetry.buses`` does, against the same
redis-py ``Lock`` on a client with a shared connection pool (how the locks were taken before each
thread had a connection of its own), and the file lock of the embedded default.

Each way runs in alternating blocks of ``--cycles`` take-and-free cycles, one thread, 500
different buses (the scale setup's 500 inverters), after a first pass that opens every lock file
and connection; printed: the median and the spread of the blocks' CPU per cycle, and whether
redis-py has hiredis to pack commands and parse replies. Run
``.venv/bin/python bench/bus_locks.py`` (starts a private Redis with tests/setup/services.py).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUSES = 500


def _setup(data_dir: str, broker_url: str) -> None:
    os.environ["SOLARMON_DATA_DIR"] = data_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-key-" + "x" * 40)
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    os.environ["CELERY_BROKER_URL"] = broker_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")
    os.environ["SOLARMON_LOG_LEVEL"] = "ERROR"
    import django

    django.setup()


def _cycles(count: int) -> float:
    """CPU seconds per take-and-free of ``count`` locks, across the 500 buses."""
    from telemetry.buses import bus_locks

    before = time.process_time()
    for i in range(count):
        with bus_locks([f"bench:{i % BUSES}"], 1.0):
            pass
    return (time.process_time() - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000, help="take-and-free cycles a block")
    parser.add_argument("--rounds", type=int, default=8, help="blocks of each way")
    args = parser.parse_args()
    from tests.setup.services import redis_server

    with redis_server() as broker_url, tempfile.TemporaryDirectory(prefix="solarmon-bench-") as data_dir:
        _setup(data_dir, broker_url)
        import redis
        from django.conf import settings
        from redis.utils import HIREDIS_AVAILABLE

        from telemetry import buses

        own = buses._client

        @functools.lru_cache(maxsize=4)
        def pooled(url: str) -> redis.Redis:
            return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

        def redis_with(client: Callable[[str], redis.Redis]) -> Callable[[int], float]:
            def run(count: int) -> float:
                settings.CELERY_BROKER_URL = broker_url
                buses._client = client  # type: ignore[assignment]
                return _cycles(count)
            return run

        def files(count: int) -> float:
            settings.CELERY_BROKER_URL = "filesystem://localhost//"
            return _cycles(count)

        ways = {"Redis, this thread's own connection": redis_with(own),
                "Redis, a shared connection pool": redis_with(pooled), "file lock": files}
        spent: dict[str, list[float]] = {way: [] for way in ways}
        try:
            for run in ways.values():
                run(BUSES)  # opens every lock file and connection
            for _ in range(args.rounds):
                for way, run in ways.items():
                    spent[way].append(run(args.cycles))
        finally:
            buses._client = own  # type: ignore[assignment]
        print(f"bus lock, taken and freed, CPU per poll (one thread, {BUSES} buses, {args.rounds} blocks "
              f"of {args.cycles} each way, alternating; hiredis {'on' if HIREDIS_AVAILABLE else 'off'}; "
              f"load {os.getloadavg()[0]:.1f}):")
        for way, figures in spent.items():
            print(f"  {way:<38}: median {statistics.median(figures) * 1e6:5.0f} µs "
                  f"({min(figures) * 1e6:.0f}–{max(figures) * 1e6:.0f})")


if __name__ == "__main__":
    main()
