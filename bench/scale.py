"""Scale: many simulated Modbus TCP inverters polled through the real dispatch and poll path.

1. Ingest: pack ticks (pack, unit and cell rows) written by ``telemetry.ingest.write`` from column
   values (the poll path), and by ``write_rows`` from model instances, for 4 × 16 and 16 × 16
   cells: rows per second, with the receivers of ``samples_written`` (rollup marks, alerts, MQTT)
   muted, so that the figure is the write's; the poll figures below include them.
2. Poll: ``--devices`` Powdrive simulators (default 500), each behind its own Modbus TCP port in
   a child process (their CPU is not this process's), one inverter each, ``--per-system`` (10)
   inverters to a system (an installer's homes), polled every ``--interval`` seconds for
   ``--seconds`` after two intervals of warm-up: ``dispatch_due`` runs at beat's period with its
   lookahead (polls due before the next dispatch wait for their time, as Celery ETAs do), and
   ``--threads`` threads take the queued ``poll_bus`` tasks like a worker of the threads pool
   (Celery's transport is left out). Printed: polls/s, sample rows/s, this process's CPU per
   poll (the dispatcher's own thread time apart), ``dispatch_due``'s time and SQL statements per
   run, dispatch lag (a poll's due time, i.e. its slot, the time its samples carry, to the poll
   task's start, p50/p99), missed polls counted during the run, and the CPU of the drivers'
   reads alone (the same devices read without storing), so that the CPU besides the wire is the
   difference. ``--schedule both`` measures every device at the interval's boundary
   (``SOLARMON_POLL_SPREAD=false``), then each system at its own phase (the default), in one run.

3. End to end (``--celery``, on a private PostgreSQL and Redis): the scale setup as the README
   describes it, ``--collectors`` worker processes (``SOLARMON_COLLECTOR=cN celery -A solarmon
   worker``, threads pool) and one ``celery -A solarmon beat``, the devices split between the
   collectors. Printed over ``--seconds`` after a warm-up: polls/s, sample rows/s, the CPU of the
   workers and beat per poll (from /proc, the simulators' process left out), dispatch lag (the
   slot's time to the poll task's start, p50/p99), end-to-end latency (the task's start, which
   is the read, and the slot's time, to the rows committed), taken in the workers by
   ``task_prerun`` and ``samples_written`` receivers the bench adds, and the missed polls counted
   during the measurement. ``--schedule`` and ``--per-system`` as in part 2.

Run: ``.venv/bin/python bench/scale.py`` (SQLite in a temporary folder); ``--postgres`` starts a
private PostgreSQL and Redis (the scale setup: Redis bus locks) with tests/setup/services.py;
``--celery`` runs part 3 on them instead of parts 1 and 2; ``--ingest-only`` runs part 1 alone.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# ---- the simulators' process ----------------------------------------------------------------
def serve(count: int) -> None:
    """Start ``count`` Powdrive simulators on loopback; print their ports; run until stdin closes."""
    from adapters.simulators.modbus import PowdriveSimulator
    from adapters.simulators.plant import Plant

    sims = [PowdriveSimulator(Plant(), serial=f"SC{i:08d}").start() for i in range(count)]
    print(json.dumps([sim.serve_tcp(0) for sim in sims]), flush=True)
    sys.stdin.read()
    for sim in sims:
        sim.stop()


@contextlib.contextmanager
def simulators(count: int) -> Iterator[list[int]]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(count)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)


# ---- set-up ---------------------------------------------------------------------------------
def _setup(database_url: str | None, data_dir: str, broker_url: str | None) -> None:
    os.environ["SOLARMON_DATA_DIR"] = data_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-key-" + "x" * 40)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{data_dir}/bench.sqlite3"
    if broker_url:
        os.environ["CELERY_BROKER_URL"] = broker_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")
    os.environ["SOLARMON_LOG_LEVEL"] = "ERROR"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _create_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


# ---- 1. ingest ------------------------------------------------------------------------------
def _pack_reading(units: int, cells: int) -> Any:
    from adapters.readings import BatteryUnitReading, CellReading, battery_pack_from_units

    return battery_pack_from_units([
        BatteryUnitReading(index=u, voltage=52.1, current=-12.5, temperature=24.0, soc=71.0, power=-651.0,
                           basic_st="Dischg", cells=[CellReading(index=c, voltage=3.256 + c / 1000,
                                                                 temperature=24.0) for c in range(cells)])
        for u in range(1, units + 1)])


@contextlib.contextmanager
def muted_receivers() -> Iterator[None]:
    from telemetry.signals import samples_written

    held = samples_written.receivers
    samples_written.receivers = []
    samples_written.sender_receivers_cache.clear()
    try:
        yield
    finally:
        samples_written.receivers = held
        samples_written.sender_receivers_cache.clear()


def bench_ingest(ticks: int) -> None:
    with muted_receivers():
        _bench_ingest(ticks)


def ingest_pack(system: Any, units: int, cells: int, tag: str = "") -> tuple[Any, dict[int, str],
                                                                             dict[tuple[str, int], str], Any]:
    """A pack of ``units`` × ``cells`` in ``system``, its unit and cell ids as the poll path holds
    them (``pack_values``' arguments), and a reading of it."""
    from catalog.selectors import load_system_tree
    from tests import factories as f

    pack = f.pack(f"pack{tag}_{units}x{cells}", f.battery_array(f"ba{tag}_{units}x{cells}", system),
                  batteries=units, cells=cells)
    tree = load_system_tree(system.pk)
    node = tree.pack(pack.pk) if tree else None
    assert node is not None
    batteries = {b.battery_index: b.battery_id for b in node.batteries}
    ids = {(b.battery_id, i): c for b in node.batteries for i, c in b.cells.items()}
    return pack, batteries, ids, _pack_reading(units, cells)


def _bench_ingest(ticks: int) -> None:
    from telemetry import ingest
    from tests import factories as f

    print(f"ingest of pack ticks (pack + unit + cell rows; each tick its own detail interval; "
          f"load {os.getloadavg()[0]:.2f}):")
    sys_ = f.system("ingest")
    for units, cells in ((4, 16), (16, 16)):
        pack, batteries, ids, reading = ingest_pack(sys_, units, cells)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        figures, cpu = [], []
        for name in ("values", "instances"):
            rows = 0
            client, server = time.process_time(), _backend_cpu_s()
            began = time.perf_counter()
            for i in range(ticks):
                ts = start + timedelta(seconds=60 * i) + (timedelta(days=1) if name == "instances" else
                                                          timedelta())
                if name == "values":
                    rows += ingest.write(ingest.pack_values(pack.pk, pack.battery_array_id, sys_.pk,
                                                            batteries, ids, reading, ts, 60)).written
                else:
                    rows += ingest.write_rows(ingest.pack_rows(pack, reading, ts)).written
            figures.append(rows / (time.perf_counter() - began))
            cpu.append(((time.process_time() - client) / ticks * 1000,
                        (_backend_cpu_s() - server) / ticks * 1000))
        print(f"  {units:2d} × {cells} cells ({1 + units + units * cells} rows/tick): "
              f"{figures[0]:8.0f} rows/s from values (poll path), {figures[1]:8.0f} rows/s from model "
              f"instances, ×{figures[0] / figures[1]:.1f}")
        print(f"    CPU per tick, this process / the PostgreSQL backend: from values {cpu[0][0]:.2f} / "
              f"{cpu[0][1]:.2f} ms, from instances {cpu[1][0]:.2f} / {cpu[1][1]:.2f} ms")


def _backend_cpu_s() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (0 on SQLite): on this one
    machine, the server's side of the writes, which the rows/s figure waits for."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return _cpu_s(pid)


# ---- 2. polls -------------------------------------------------------------------------------
def _catalog(ports: list[int], interval: float, per_system: int, tag: str = "") -> list[str]:
    """One inverter per simulator, ``per_system`` to a system (arrays of 10); returns the systems."""
    from tests import factories as f

    systems = []
    for first in range(0, len(ports), per_system):
        sys_ = f.system(f"scale{tag}_s{first // per_system:03d}")
        systems.append(str(sys_.pk))
        members = ports[first:first + per_system]
        arrays = [f.array(f"scale{tag}_s{first // per_system:03d}_a{i}", sys_)
                  for i in range((len(members) + 9) // 10)]
        for j, port in enumerate(members):
            i = first + j
            f.inverter(f"inv{tag}{i:04d}", arrays[j // 10], adapter=f.adapter(
                f"inv{tag}{i:04d}_ad", "powdrive", {"transport": "tcp", "host": "127.0.0.1", "port": port,
                                                    "timeout": 2.0}, poll_interval_s=interval))
    return systems


_SCHEDULES = {"spread": "each system at its own phase of the interval (SOLARMON_POLL_SPREAD=true)",
              "aligned": "every device at the interval's boundary (SOLARMON_POLL_SPREAD=false)"}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def bench_polls(devices: int, interval: float, seconds: float, threads: int, per_system: int,
                schedules: list[str], switch_interval_ms: float | None = None) -> None:
    from django.conf import settings

    from solarmon.celery import pace_poll_threads
    from solarmon.schedule import dispatch_lookahead_s, dispatch_period_s

    pace_poll_threads()  # as a worker does
    if switch_interval_ms is not None:
        sys.setswitchinterval(switch_interval_ms / 1000)
    locks = "Redis" if "redis" in settings.CELERY_BROKER_URL else "files"
    print(f"{devices} Modbus TCP inverters ({per_system} to a system) every {interval:g} s for "
          f"{seconds:g} s; dispatch every {dispatch_period_s():g} s "
          f"(lookahead {dispatch_lookahead_s():g} s), "
          f"{threads} worker threads (switch interval {sys.getswitchinterval() * 1000:g} ms), "
          f"bus locks in {locks}:")
    for run, schedule in enumerate(schedules):
        settings.SOLARMON_POLL_SPREAD = schedule == "spread"
        _poll_run(devices, interval, seconds, threads, per_system, f"r{run}", schedule)


def _poll_run(devices: int, interval: float, seconds: float, threads: int, per_system: int, tag: str,
              schedule: str) -> None:
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from catalog import models as m
    from solarmon.schedule import dispatch_lookahead_s, dispatch_period_s
    from telemetry import models as t
    from telemetry.dispatch import dispatch_due
    from telemetry.polling import _reader, close_readers, device_refs
    from telemetry.tasks import poll_bus

    period, lookahead = dispatch_period_s(), dispatch_lookahead_s()
    m.Adapter.objects.update(enabled=False)  # an earlier run's devices are not polled any more
    t.DeviceStatus.objects.all().delete()
    with simulators(devices) as ports:
        system_ids = _catalog(ports, interval, per_system, tag)
        tasks: queue.Queue[tuple[list[str], str] | None] = queue.Queue()
        lags: list[float] = []
        polls = [0]
        lock = threading.Lock()

        def work() -> None:
            while (task := tasks.get()) is not None:
                keys, slot_iso = task
                lag = time.time() - datetime.fromisoformat(slot_iso).timestamp()
                poll_bus(keys, slot_iso)
                with lock:
                    lags.extend([lag] * len(keys))
                    polls[0] += len(keys)
            connections.close_all()

        workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()

        # Tasks queued ahead for their slot (a Celery ETA) wait in one timer thread, as in a worker's
        # consumer: a thread per task (threading.Timer) cost more CPU than the poll path itself.
        etas: list[tuple[float, int, list[str], str]] = []
        due = threading.Condition()

        def release() -> None:
            with due:
                while etas or not stopping.is_set():
                    wait = etas[0][0] - time.time() if etas else 0.5
                    if wait > 0:
                        due.wait(wait)
                        continue
                    _, _, keys, slot_iso = heapq.heappop(etas)
                    tasks.put((keys, slot_iso))

        stopping = threading.Event()
        timer = threading.Thread(target=release, daemon=True)
        timer.start()

        def send(owner: str, keys: list[str], slot: datetime, expires_s: float) -> None:
            if slot.timestamp() > time.time():  # queued ahead for its slot: a Celery ETA
                with due:
                    heapq.heappush(etas, (slot.timestamp(), next(order), keys, slot.isoformat()))
                    due.notify()
            else:
                tasks.put((keys, slot.isoformat()))

        order = itertools.count()

        # Warm-up: one round opens every connection and creates the status rows; then two
        # intervals on the schedule, so that first polls (due at once) are not counted.
        dispatch_due(timezone.now(), send)
        while not tasks.empty() or polls[0] < devices:
            time.sleep(0.2)
        warm = time.monotonic()
        while time.monotonic() - warm < 2 * interval:
            dispatch_due(timezone.now(), send, lookahead)
            time.sleep(period)
        lags.clear()
        polls[0] = 0
        rows_before = t.EnergySample.objects.count()
        missed_before = sum(t.DeviceStatus.objects.values_list("missed_polls", flat=True))
        cpu, began, times = time.process_time(), time.monotonic(), os.times()
        dispatch_cpu, dispatch_wall, statements = 0.0, [], []
        while time.monotonic() - began < seconds:
            tick = time.monotonic()
            before = time.thread_time()  # this thread's: the workers' polls run meanwhile
            with CaptureQueriesContext(connection) as queries:
                dispatch_due(timezone.now(), send, lookahead)
            dispatch_cpu += time.thread_time() - before
            dispatch_wall.append(time.monotonic() - tick)
            statements.append(len(queries))
            time.sleep(max(period - (time.monotonic() - tick), 0.0))
        while not tasks.empty() or etas:
            time.sleep(0.1)
        stopping.set()
        for _ in workers:
            tasks.put(None)
        for worker in workers:
            worker.join()
        elapsed, used = time.monotonic() - began, time.process_time() - cpu
        in_kernel = os.times().system - times.system
        rows = t.EnergySample.objects.count() - rows_before
        missed = sum(t.DeviceStatus.objects.values_list("missed_polls", flat=True)) - missed_before
        made = polls[0]
        print(f"  {schedule} ({_SCHEDULES[schedule]}), load average {os.getloadavg()[0]:.1f}:")
        print(f"    {made / elapsed:7.1f} polls/s sustained ({made} polls in {elapsed:.1f} s, "
              f"{devices / interval:.0f}/s wanted), {rows / elapsed:7.1f} sample rows/s")
        print(f"    CPU of this process: {used / max(made, 1) * 1000:.2f} ms per poll (dispatch "
              f"{dispatch_cpu / max(made, 1) * 1000:.2f} ms of it, in the kernel "
              f"{in_kernel / max(made, 1) * 1000:.2f} ms of it), {used / elapsed * 100:.0f} % of a core")
        print(f"    dispatch_due: {_percentile(dispatch_wall, 0.5) * 1000:.0f} ms per run (max "
              f"{max(dispatch_wall, default=0) * 1000:.0f} ms), {min(statements, default=0)}-"
              f"{max(statements, default=0)} SQL statements per run")
        print(f"    dispatch lag (due time, i.e. the slot → poll start): p50 "
              f"{_percentile(lags, 0.5) * 1000:.0f} ms, p99 {_percentile(lags, 0.99) * 1000:.0f} ms, "
              f"max {max(lags, default=0) * 1000:.0f} ms")
        print(f"    missed polls counted during the run: {missed}")

        refs = [ref for system_id in system_ids for ref in device_refs(system_id)]
        before = time.process_time()
        for _ in range(2):
            for ref in refs:
                _reader(ref).read()
        reads = (time.process_time() - before) / (2 * len(refs))
        print(f"    CPU of the driver's read alone: {reads * 1000:.2f} ms per poll; so besides the wire and "
              f"the driver: {(used / max(made, 1) - reads) * 1000:.2f} ms per poll")
        from redis.utils import HIREDIS_AVAILABLE

        from telemetry.buses import bus_locks, uses_redis

        locks_in = ("Redis, hiredis" if HIREDIS_AVAILABLE else "Redis") if uses_redis() else "files"
        for _pass in (1, 2):  # the first pass opens each lock file (or connection) once
            before = time.process_time()
            for ref in refs:
                with bus_locks([f"bench:{ref.device_id}"], 1.0):
                    pass
        locks = (time.process_time() - before) / len(refs)
        print(f"    of which the bus lock, taken and freed alone ({locks_in}): {locks * 1000:.2f} ms a poll")
        close_readers()
        connection.close()


# ---- 3. end to end: collector workers and beat ---------------------------------------------
def run_worker(name: str, record: str, args: list[str]) -> None:
    """A collector's worker (or beat) as ``celery -A solarmon``, recording each poll task's start
    and each poll's commit in ``record`` (one line each)."""
    import django

    django.setup()
    from celery.signals import task_prerun

    from solarmon.celery import app
    from telemetry.signals import samples_written

    out, lock, local = open(record, "a", buffering=1), threading.Lock(), threading.local()

    def started(task: Any = None, args: Any = None, **kwargs: Any) -> None:
        if task is not None and task.name == "telemetry.tasks.poll_bus":
            local.started = time.time()
            with lock:
                out.write(f"lag {local.started:.3f} "
                          f"{local.started - datetime.fromisoformat(args[1]).timestamp():.4f}\n")

    def committed(sender: Any, ts: datetime, **kwargs: Any) -> None:
        now = time.time()
        with lock:
            out.write(f"e2e {now:.3f} {now - getattr(local, 'started', now):.4f} "
                      f"{now - ts.timestamp():.4f}\n")

    task_prerun.connect(started, weak=False)
    samples_written.connect(committed, weak=False)
    app.start(args)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_end_to_end(devices: int, interval: float, seconds: float, collectors: int, threads: int,
                     data_dir: str, per_system: int, schedules: list[str]) -> None:
    print(f"end to end: {devices} Modbus TCP inverters ({per_system} to a system) every {interval:g} s, "
          f"{collectors} collector workers ({threads} threads each) and one beat, PostgreSQL + Redis:")
    for run, schedule in enumerate(schedules):
        _end_to_end_run(devices, interval, seconds, collectors, threads, f"{data_dir}/r{run}", per_system,
                        f"r{run}", schedule)


def _end_to_end_run(devices: int, interval: float, seconds: float, collectors: int, threads: int,
                    data_dir: str, per_system: int, tag: str, schedule: str) -> None:
    from django.conf import settings
    from django.db import connection

    from catalog import models as m
    from solarmon.schedule import install_beat_schedule
    from telemetry import models as t

    names = [f"c{i + 1}" for i in range(collectors)]
    os.makedirs(data_dir)
    m.Adapter.objects.update(enabled=False)  # an earlier run's devices are not polled any more
    t.DeviceStatus.objects.all().delete()
    with simulators(devices) as ports:
        _catalog(ports, interval, per_system, tag)
        for name in names:
            m.Collector.objects.get_or_create(name=name)
        adapters = list(m.Adapter.objects.order_by("pk").values_list("pk", flat=True))
        for i, name in enumerate(names):
            m.Adapter.objects.filter(pk__in=adapters[i::collectors]).update(collector=name)
        install_beat_schedule()
        connection.close()
        env = {**os.environ, "SECRET_KEY": settings.SECRET_KEY, "SOLARMON_DISCOVERY_ENABLED": "false",
               "SOLARMON_LOG_LEVEL": "WARNING", "SOLARMON_POLL_SPREAD": str(schedule == "spread").lower()}
        logs = open(f"{data_dir}/workers.log", "ab")
        procs = []
        records = []
        for name in names:
            records.append(f"{data_dir}/{name}.record")
            procs.append(subprocess.Popen([sys.executable, __file__, "--worker", name, records[-1], "worker",
                                           "--pool=threads", f"--concurrency={threads}",
                                           "--loglevel=WARNING", "--without-gossip", "--without-mingle",
                                           "--without-heartbeat", "-n", f"{name}@%h"],
                                          env={**env, "SOLARMON_COLLECTOR": name,
                                               "SOLARMON_DATA_DIR": f"{data_dir}/{name}"},
                                          stdout=logs, stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen([sys.executable, __file__, "--worker", "beat",
                                       f"{data_dir}/beat.record", "beat", "--loglevel=WARNING"],
                                      env={**env, "SOLARMON_COLLECTOR": names[0],
                                           "SOLARMON_DATA_DIR": f"{data_dir}/beat"},
                                      stdout=logs, stderr=subprocess.STDOUT))
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                polled = t.DeviceStatus.objects.filter(last_seen__isnull=False).count()
                if polled >= devices:
                    break
                time.sleep(1)
            time.sleep(2 * interval)  # past the first round's catching up
            rows_before = t.EnergySample.objects.count()
            missed_before = sum(t.DeviceStatus.objects.values_list("missed_polls", flat=True))
            cpu, began, wall = [_cpu_s(p.pid) for p in procs], time.time(), time.monotonic()
            time.sleep(seconds)
            used = sum(_cpu_s(p.pid) - c for p, c in zip(procs, cpu, strict=True))
            elapsed, ended = time.monotonic() - wall, time.time()
            rows = t.EnergySample.objects.count() - rows_before
            missed = sum(t.DeviceStatus.objects.values_list("missed_polls", flat=True)) - missed_before
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            logs.close()
        lags, reads, e2e = [], [], []
        for record in records:
            for line in Path(record).read_text().splitlines():
                kind, at, *values = line.split()
                if not began <= float(at) <= ended:
                    continue
                if kind == "lag":
                    lags.append(float(values[0]))
                else:
                    reads.append(float(values[0]))
                    e2e.append(float(values[1]))
        print(f"  {schedule} ({_SCHEDULES[schedule]}), load average {os.getloadavg()[0]:.1f}:")
        print(f"    {rows / elapsed:7.1f} polls/s sustained ({rows} polls in {elapsed:.1f} s, "
              f"{devices / interval:.0f}/s wanted), {rows / elapsed:7.1f} sample rows/s")
        print(f"    CPU of the workers and beat: {used / max(rows, 1) * 1000:.2f} ms per poll, "
              f"{used / elapsed * 100:.0f} % of a core")
        print(f"    dispatch lag (due time, i.e. the slot → poll start): p50 "
              f"{_percentile(lags, 0.5) * 1000:.0f} ms, p99 {_percentile(lags, 0.99) * 1000:.0f} ms, "
              f"max {max(lags, default=0) * 1000:.0f} ms")
        print(f"    end to end (poll start, i.e. the read, → rows committed): p50 "
              f"{_percentile(reads, 0.5) * 1000:.0f} ms, p99 {_percentile(reads, 0.99) * 1000:.0f} ms; "
              f"(slot → committed): p50 {_percentile(e2e, 0.5) * 1000:.0f} ms, "
              f"p99 {_percentile(e2e, 0.99) * 1000:.0f} ms")
        print(f"    missed polls counted during the measurement: {missed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--celery", action="store_true", help="end to end: collector workers and beat "
                        "on a private PostgreSQL and Redis")
    parser.add_argument("--collectors", type=int, default=2)
    parser.add_argument("--postgres", action="store_true", help="a private PostgreSQL and Redis")
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--switch-interval-ms", type=float, help="the interpreter's switch interval for "
                        "part 2 (default: a worker's, solarmon.celery.POLL_THREADS_SWITCH_INTERVAL_S)")
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--per-system", type=int, default=10, help="inverters to a system (default 10: "
                        "an installer's many homes; --per-system 500 puts every device in one system)")
    parser.add_argument("--schedule", choices=["spread", "aligned", "both"], default="spread",
                        help="spread: each system at its own phase (the default setting); aligned: every "
                        "device at the interval's boundary; both: one after the other, in one run")
    parser.add_argument("--ingest-only", action="store_true", help="part 1 alone")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.worker:
        name, record, *rest = args.worker
        run_worker(name, record, rest)
        return
    schedules = ["aligned", "spread"] if args.schedule == "both" else [args.schedule]
    with contextlib.ExitStack() as stack:
        database_url = broker_url = None
        if args.postgres or args.celery:
            from tests.setup.services import postgres_server, redis_server

            database_url = stack.enter_context(postgres_server())
            broker_url = stack.enter_context(redis_server())
            _create_database(database_url)
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="solarmon-bench-"))
        _setup(database_url, data_dir, broker_url)
        from django.db import connection

        print(f"database: {connection.vendor}")
        if args.celery:
            bench_end_to_end(args.devices, args.interval, args.seconds, args.collectors, args.threads,
                             data_dir, args.per_system, schedules)
            return
        bench_ingest(args.ticks)
        if args.ingest_only:
            return
        bench_polls(args.devices, args.interval, args.seconds, args.threads, args.per_system, schedules,
                    args.switch_interval_ms)


if __name__ == "__main__":
    main()
