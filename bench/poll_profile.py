"""Where one device poll's CPU goes: ``poll_bus`` per device in turn, in one thread, profiled.

The set-up is ``bench/scale.py`` part 2's (Powdrive simulators, each on its own Modbus TCP port in
a child process whose CPU is not counted; one inverter each, on its own bus), but the polls run
one after the other in this thread, so that the figures hold no thread contention and cProfile
sees every call:

1. ``--rounds`` rounds at real slot boundaries: ``dispatch_due`` (as beat runs it) queues every
   device, then each queued ``poll_bus`` runs in turn. Printed: CPU per poll of the poll tasks
   and of the dispatch, without a profiler;
2. the drivers' reads alone (the same devices read without storing), as ``bench/scale.py``
   measures them, so that the CPU besides the wire and the driver is the difference;
3. ``--alerts-pairs`` pairs of rounds with alert evaluation on and off, interleaved: the alert
   receiver behind a switch for the whole run (``bench.alerts.AlertGate``: connecting and
   disconnecting it changes the signal's receivers between rounds, and rounds seconds apart
   differ in CPU by far more than the evaluation costs), each device on in one round and off in
   the next. Printed: the thread CPU of a poll on − off, mean over the pairs with its 95 %
   interval, what the receiver itself spent per poll, and the spread of whole rounds;
4. ``--profile-rounds`` more rounds under cProfile: the functions with most own time and the
   poll path's stages (cumulative), in ms of this thread's CPU per poll (cProfile's overhead
   inflates them; the shares are what to read).

Run: ``.venv/bin/python bench/poll_profile.py [--devices 100] [--rounds 10]``; ``--postgres``
on a private PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import _catalog, _create_database, _setup, simulators  # noqa: E402

if TYPE_CHECKING:
    from bench.alerts import AlertGate, Interleaved

# The poll path's stages, shown with their cumulative time (``file:function`` as pstats names them).
STAGES = [
    ("telemetry/tasks.py", "poll_bus"),
    ("telemetry/snapshot.py", "poll_catalog"),
    ("telemetry/tasks.py", "_poll_one"),
    ("telemetry/polling.py", "poll_device"),
    ("telemetry/buses.py", "bus_locks"),
    ("adapters/failover.py", "read"),
    ("telemetry/polling.py", "_rows"),
    ("telemetry/ingest.py", "write"),
    ("telemetry/upsert.py", "insert_linked"),
    ("django/dispatch/dispatcher.py", "send"),
    ("aggregation/receivers.py", "mark_late_samples"),
    ("alerts/receivers.py", "evaluate_after_poll"),
    ("integrations/receivers.py", "on_samples_written"),
    ("telemetry/status.py", "record_poll_success"),
    ("telemetry/tasks.py", "slot_still_pending"),
    ("telemetry/derive.py", "derive_samples"),
]


def _round(interval: float, run: Any, gated: tuple[AlertGate, Interleaved] | None = None
           ) -> tuple[float, float, int]:
    """Wait for the next slot, dispatch it, run its tasks; returns (poll CPU, dispatch CPU, polls).
    ``gated``: each task with alerts on or off as the round has it, its thread CPU recorded."""
    from django.utils import timezone

    from telemetry.dispatch import dispatch_due
    from telemetry.tasks import poll_bus

    time.sleep(interval - time.time() % interval + 0.01)
    tasks: list[tuple[list[str], str]] = []
    before = time.process_time()
    dispatch_due(timezone.now(), lambda owner, keys, slot, expires: tasks.append((keys, slot.isoformat())))
    dispatch_cpu = time.process_time() - before
    before = time.process_time()
    for keys, slot_iso in tasks:
        if gated is None:
            run(poll_bus, keys, slot_iso)
            continue
        gate, runs = gated
        gate.on = runs.side(tuple(keys))
        cpu = time.thread_time()
        run(poll_bus, keys, slot_iso)
        runs.record(gate.on, time.thread_time() - cpu)
    return time.process_time() - before, dispatch_cpu, sum(len(keys) for keys, _ in tasks)


def _plain(task: Any, *args: Any) -> None:
    task(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--per-system", type=int, default=10, help="inverters per system")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--alerts-pairs", type=int, default=10, help="on/off pairs of rounds (0: none)")
    parser.add_argument("--profile-rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--postgres", action="store_true", help="a private PostgreSQL and Redis")
    args = parser.parse_args()
    # Every device due at the boundary each round waits for: a system's phase moves when its polls
    # run, not what they cost.
    os.environ["SOLARMON_POLL_SPREAD"] = "false"
    with contextlib.ExitStack() as stack:
        database_url = broker_url = None
        if args.postgres:
            from tests.setup.services import postgres_server, redis_server

            database_url = stack.enter_context(postgres_server())
            broker_url = stack.enter_context(redis_server())
            _create_database(database_url)
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="solarmon-bench-"))
        _setup(database_url, data_dir, broker_url)
        profile(args)


def profile(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.db import connection

    from telemetry.polling import _reader, close_readers, device_refs

    locks = "Redis" if "redis" in settings.CELERY_BROKER_URL else "files"
    print(f"database: {connection.vendor}; {args.devices} Modbus TCP inverters every {args.interval:g} s, "
          f"polled in turn in one thread, bus locks in {locks}")
    with simulators(args.devices) as ports:
        system_ids = _catalog(ports, args.interval, args.per_system)
        for _ in range(2):  # opens every connection, creates the status rows, fills the caches
            _round(args.interval, _plain)
        polls = poll_cpu = dispatch_cpu = 0.0
        for _ in range(args.rounds):
            cpu, dispatched, made = _round(args.interval, _plain)
            poll_cpu, dispatch_cpu, polls = poll_cpu + cpu, dispatch_cpu + dispatched, polls + made
        refs = [ref for system_id in system_ids for ref in device_refs(system_id)]
        before = time.process_time()
        for _ in range(3):
            for ref in refs:
                _reader(ref).read()
        reads = (time.process_time() - before) / (3 * len(refs))
        per = 1000 / max(polls, 1)
        print(f"  {polls:.0f} polls: CPU per poll {poll_cpu * per:.2f} ms in poll_bus, dispatch "
              f"{dispatch_cpu * per:.2f} ms, all {(poll_cpu + dispatch_cpu) * per:.2f} ms")
        print(f"  the driver's read alone: {reads * 1000:.2f} ms; so besides the wire and the driver: "
              f"{(poll_cpu + dispatch_cpu) * per - reads * 1000:.2f} ms per poll "
              f"({poll_cpu * per - reads * 1000:.2f} ms of it in poll_bus)")

        if args.alerts_pairs:
            _alerts_on_off(args)

        profiler = cProfile.Profile(time.thread_time)  # CPU, not wall time: the wire's waits drop out

        def profiled(task: Any, *task_args: Any) -> None:
            profiler.runcall(task, *task_args)

        profiled_polls = 0
        for _ in range(args.profile_rounds):
            profiled_polls += _round(args.interval, profiled)[2]
        close_readers()
        if profiled_polls:
            _report(pstats.Stats(profiler), profiled_polls, args.top)


def _alerts_on_off(args: argparse.Namespace) -> None:
    """Polls with alert evaluation on and off, interleaved within each round, compared."""
    from bench.alerts import AlertGate, Interleaved

    print("  alerts on against off, interleaved (each device on in one round, off in the next), "
          "thread CPU per poll_bus task:")
    with AlertGate() as gate:
        _round(args.interval, _plain)  # both sides warm
        gate.inside = {True: [], False: []}
        runs = Interleaved()
        for _ in range(2 * args.alerts_pairs):
            runs.start_round()
            _round(args.interval, _plain, (gate, runs))
        runs.report(gate, f"{args.devices} inverters")


def _report(stats: pstats.Stats, polls: int, top: int) -> None:
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in entries.values())
    print(f"\nunder cProfile: {total / polls * 1000:.2f} ms per poll in poll_bus; own time per poll, "
          f"top {top}:")
    print(f"  {'ms/poll':>8} {'share':>6} {'calls/poll':>10}  function")
    ranked = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for (path, line, name), (_, calls, tt, _, _) in ranked:
        print(f"  {tt / polls * 1000:8.3f} {tt / total * 100:5.1f}% {calls / polls:10.1f}  "
              f"{_short(path)}:{line} {name}")
    print("\nstages, cumulative per poll:")
    for suffix, name in STAGES:
        hits = [(calls, ct) for (path, _, fn), (_, calls, _, ct, _) in entries.items()
                if fn == name and path.endswith(suffix)]
        if hits:
            calls, ct = max(hits, key=lambda h: h[1])
            print(f"  {ct / polls * 1000:8.3f} ms {ct / total * 100:5.1f}% {calls / polls:6.2f} calls  "
                  f"{suffix} {name}")


def _short(path: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


if __name__ == "__main__":
    main()
