"""Poll-pipeline costs: bulk ingest against per-row saves, SQL per tick, tick time against size.

1. Ingest: one tick of a pack with 4 batteries × 16 cells is 69 rows (pack, units, cells), every
   5 s, so that 12 ticks share a detail interval (the first inserts the unit and cell rows, the
   others update them). ``write`` from column values (the poll path: one statement on
   PostgreSQL, one per table in one transaction on SQLite), ``write_rows`` from model instances
   built by ``pack_rows`` (which also reads the pack's catalog rows), and a naive writer that
   calls ``save()`` on every row in autocommit, as code without a service layer would. These
   three run with the receivers of ``samples_written`` connected; the ticks are not live, so the
   late-sample check reads after each one. Then the write alone (issue 18's figure: receivers
   muted), for 4 × 16 and 16 × 16 cells, with 5 s ticks and with each tick its own detail
   interval (every unit and cell row new): rows/s and the CPU per tick of this process and of
   the PostgreSQL backend. Last, the same write from several processes at once (``--writers``,
   default 2: one per collector of issue 18's scale setup, each its own connection and pack),
   the rows/s the database takes from them together, and each side's CPU per tick.
2. SQL statements of one poll tick of the demo installation (3 inverters, 1 meter, 2 packs),
   counted with Django's query capture, per device and for the derived array/system rows.
3. Tick time for 1, 10 and 50 simulated Modbus TCP inverters (one simulator each), polled in
   turn in one process, so the growth per device is visible.

Run: ``.venv/bin/python bench/ingest.py`` (SQLite in a temporary folder; ``--database-url``
for PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import _backend_cpu_s, _pack_reading, ingest_pack, muted_receivers  # noqa: E402


def _setup(database_url: str | None, data_dir: str) -> None:
    os.environ["SOLARMON_DATA_DIR"] = data_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-key-" + "x" * 40)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{data_dir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")
    os.environ["SOLARMON_LOG_LEVEL"] = "ERROR"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def bench_ingest(ticks: int, writers: int = 2) -> None:
    from catalog import models as m
    from telemetry import ingest
    from telemetry import models as t
    from tests import factories as f

    sys_ = f.system("bench")
    pack = f.pack("bench_pack", f.battery_array("bench_ba", sys_), batteries=4, cells=16)
    reading = _pack_reading(4, 16)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ingest.write_rows(ingest.pack_rows(pack, reading, start - timedelta(seconds=5)))  # warm up
    rows_per_tick = len(ingest.pack_rows(pack, reading, start))
    batteries = dict(m.Battery.objects.filter(pack=pack).values_list("battery_index", "battery_id"))
    cells = {(b, i): c for c, b, i in m.BatteryCell.objects.filter(pack=pack).values_list(
        "cell_id", "battery_id", "cell_index")}
    interval = ingest.detail_interval_s(reading.adapter_id)

    values_start = start - timedelta(days=1)
    began = time.perf_counter()
    for i in range(ticks):
        ingest.write(ingest.pack_values(pack.pk, pack.battery_array_id, sys_.pk, batteries, cells, reading,
                                        values_start + timedelta(seconds=5 * i), interval))
    values = time.perf_counter() - began

    began = time.perf_counter()
    for i in range(ticks):
        ingest.write_rows(ingest.pack_rows(pack, reading, start + timedelta(seconds=5 * i)))
    bulk = time.perf_counter() - began

    naive_start = start + timedelta(days=1)
    began = time.perf_counter()
    for i in range(ticks):
        ts = naive_start + timedelta(seconds=5 * i)
        for row in ingest.pack_rows(pack, reading, ts):
            row.ts = ts  # type: ignore[attr-defined]  # a row per reading, without detail intervals
            row.save(force_insert=True)
    naive = time.perf_counter() - began
    assert t.BatteryBankSample.objects.filter(pack=pack).count() == 3 * ticks + 1
    rows = rows_per_tick * ticks
    print(f"ingest, {ticks} ticks of {rows_per_tick} rows (pack of 4 × 16 cells, a tick every 5 s; "
          f"load {_load()}):")
    print(f"  write (values)  : {rows / values:10.0f} rows/s  ({values / ticks * 1000:6.2f} ms per tick)")
    print(f"  bulk write_rows : {rows / bulk:10.0f} rows/s  ({bulk / ticks * 1000:6.2f} ms per tick)")
    print(f"  naive save()    : {rows / naive:10.0f} rows/s  ({naive / ticks * 1000:6.2f} ms per tick)")
    print(f"  ratio           : {naive / bulk:.1f}× faster in bulk")
    m.System.objects.filter(pk="bench").delete()
    with muted_receivers():
        bench_write_alone(ticks)
        bench_one_row(ticks)
        bench_writers(ticks, writers)


def bench_write_alone(ticks: int) -> None:
    """``write`` from values with the receivers muted: 4 × 16 and 16 × 16 cells, 5 s ticks (11 of
    12 update their interval's unit and cell rows) and ticks each in an interval of its own."""
    from telemetry import ingest
    from tests import factories as f

    print(f"write alone (receivers muted; load {_load()}):")
    sys_ = f.system("alone")
    for units, cells in ((4, 16), (16, 16)):
        pack, batteries, ids, reading = ingest_pack(sys_, units, cells, "_alone")
        for i in range(6):  # warm up: PostgreSQL plans a prepared statement for good at its sixth run
            ingest.write(ingest.pack_values(pack.pk, pack.battery_array_id, sys_.pk, batteries, ids, reading,
                                            datetime(2026, 1, 1, i, tzinfo=UTC), 60))
        for label, step, start in (("5 s ticks", 5, datetime(2026, 2, 1, tzinfo=UTC)),
                                   ("interval each", 60, datetime(2026, 3, 1, tzinfo=UTC))):
            rows = 0
            client, server, began = time.process_time(), _backend_cpu_s(), time.perf_counter()
            for i in range(ticks):
                ts = start + timedelta(seconds=step * i)
                values = ingest.pack_values(pack.pk, pack.battery_array_id, sys_.pk, batteries, ids, reading,
                                            ts, 60)
                rows += ingest.write(values).written
            wall = time.perf_counter() - began
            print(f"  {units:2d} × {cells}, {label:<13}: {rows / wall:8.0f} rows/s, CPU per tick "
                  f"{(time.process_time() - client) / ticks * 1000:5.2f} ms here / "
                  f"{(_backend_cpu_s() - server) / ticks * 1000:5.2f} ms in the PostgreSQL backend")
    sys_.delete()


def bench_one_row(ticks: int, rounds: int = 10) -> None:
    """An inverter's poll (one row, no detail rows) written as ``write`` writes it and, the same
    rows, as one-element arrays (how it was written before scalar parameters; PostgreSQL only),
    in alternating blocks of ``ticks`` writes: CPU per write of this process and of the backend."""
    from django.db import connection

    from adapters.readings import InverterReading
    from telemetry import ingest, upsert
    from tests import factories as f

    if connection.vendor != "postgresql":
        return
    print(f"one inverter row a write (receivers muted; {rounds} alternating blocks of {ticks}; "
          f"load {_load()}):")
    inv = f.inverter("one_row", f.array("one_row_a", f.system("one_row")))
    reading = InverterReading(
        pv_power_w=3120.0, load_power_w=870.0, grid_power_w=-1650.0, batt_power_w=-600.0, batt_voltage_v=52.3,
        batt_current_a=-11.5, soc=64.0, inverter_mode=2, inverter_temp_c=41.2, grid_voltage_v=231.4,
        grid_frequency_hz=50.01, pv_today_kwh=12.4, load_today_kwh=6.1, pv_total_kwh=10234.5,
        grid_import_total_kwh=812.25, grid_export_total_kwh=4410.5)
    scalars = upsert._scalars
    spent = {"scalars": [0.0, 0.0], "arrays": [0.0, 0.0]}
    ts = datetime(2026, 4, 1, tzinfo=UTC)
    try:
        for block in range(rounds * 2 + 2):
            way = "scalars" if block % 2 == 0 else "arrays"
            upsert._scalars = scalars if way == "scalars" else lambda fields, row: None  # type: ignore[assignment]
            client, server = time.process_time(), _backend_cpu_s()
            for _ in range(ticks):
                ts += timedelta(seconds=5)
                ingest.write(ingest.inverter_values(inv.pk, inv.array_id, inv.system_id, reading, ts))
            if block >= 2:  # the first pair warms up (statements prepared, plans settled)
                spent[way][0] += time.process_time() - client
                spent[way][1] += _backend_cpu_s() - server
    finally:
        upsert._scalars = scalars  # type: ignore[assignment]
    for way, (client, server) in spent.items():
        print(f"  {way:<7}: CPU per write {client / ticks / rounds * 1e6:5.0f} µs here / "
              f"{server / ticks / rounds * 1e6:5.0f} µs in the PostgreSQL backend")
    inv.system.delete()


def bench_writers(ticks: int, writers: int) -> None:
    """``writers`` processes writing pack ticks at once, each its own pack and connection, as
    collectors do (each poll's write is its own statement and transaction): the database's
    ingest rate when it is not waiting for one client's Python between statements. Started
    together at a barrier; rows/s over the span from the first start to the last end."""
    import multiprocessing

    from django.db import connections

    from tests import factories as f

    if writers < 2:
        return
    sys_ = f.system("writers")
    packs = {}
    for units, cells in ((4, 16), (16, 16)):
        packs[(units, cells)] = [ingest_pack(sys_, units, cells, f"_w{n}") for n in range(writers)]
    connections.close_all()  # each process opens its own connection
    context = multiprocessing.get_context("fork")
    print(f"write alone, {writers} writer processes at once (load {_load()}):")
    for (units, cells), made in packs.items():
        for label, step in (("5 s ticks", 5), ("interval each", 60)):
            barrier, results = context.Barrier(writers), context.Queue()
            procs = [context.Process(target=_writer, args=(made[n], sys_.pk, ticks, step, n, barrier,
                                                           results)) for n in range(writers)]
            for proc in procs:
                proc.start()
            outcome = [results.get(timeout=600) for _ in procs]
            for proc in procs:
                proc.join()
            rows = sum(o[0] for o in outcome)
            span = max(o[2] for o in outcome) - min(o[1] for o in outcome)
            client = sum(o[3] for o in outcome) / (ticks * writers) * 1000
            server = sum(o[4] for o in outcome) / (ticks * writers) * 1000
            print(f"  {units:2d} × {cells}, {label:<13}: {rows / span:8.0f} rows/s together, CPU per tick "
                  f"{client:5.2f} ms in a writer / {server:5.2f} ms in its PostgreSQL backend")
    sys_.delete()


def _writer(made: tuple[Any, ...], system_id: str, ticks: int, step: int, n: int, barrier: Any,
            results: Any) -> None:
    from telemetry import ingest

    pack, batteries, ids, reading = made
    start = datetime(2026, 4 + step // 60, 1, tzinfo=UTC) + timedelta(days=n)
    for i in range(6):  # warm up, as bench_write_alone does
        ingest.write(ingest.pack_values(pack.pk, pack.battery_array_id, system_id, batteries, ids, reading,
                                        start - timedelta(hours=i + 1), 60))
    barrier.wait()
    rows = 0
    client, server, began = time.process_time(), _backend_cpu_s(), time.perf_counter()
    for i in range(ticks):
        values = ingest.pack_values(pack.pk, pack.battery_array_id, system_id, batteries, ids, reading,
                                    start + timedelta(seconds=step * i), 60)
        rows += ingest.write(values).written
    ended = time.perf_counter()
    results.put((rows, began, ended, time.process_time() - client, _backend_cpu_s() - server))


def _load() -> str:
    """The machine's load average over the last minute (benchmarks share the machine)."""
    return f"{os.getloadavg()[0]:.2f}"


def bench_statements() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from solarmon.demo import DemoRig, enable_simulated_ble
    from telemetry.derive import derive_samples
    from telemetry.polling import close_readers, device_refs, poll_device, slot_for
    from tests.telemetry.conftest import build_installation

    build_installation()
    origin = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    rig = DemoRig(origin)
    rig.start()
    enable_simulated_ble(origin)
    try:
        refs = device_refs()
        for ref in refs:  # warm up: connections, catalog rows for units and cells
            poll_device(ref, slot_for(timezone.now(), 5) - timedelta(seconds=60))
        slot = slot_for(timezone.now(), 5)
        print("SQL statements of one poll tick of the demo installation:")
        total = 0
        for ref in refs:
            with CaptureQueriesContext(connection) as ctx:
                out = poll_device(ref, slot)
            total += len(ctx.captured_queries)
            print(f"  {ref.kind:<13} {ref.device_id:<12} {len(ctx.captured_queries):3d} statements, "
                  f"{out.rows:3d} rows")
        with CaptureQueriesContext(connection) as ctx:
            derive_samples("system", slot)
        total += len(ctx.captured_queries)
        print(f"  derive array + system samples {len(ctx.captured_queries):3d} statements")
        print(f"  whole tick                    {total:3d} statements")
    finally:
        close_readers()
        rig.stop()


def bench_growth(sizes: list[int]) -> None:
    from django.utils import timezone

    from adapters.simulators.modbus import PowdriveSimulator
    from adapters.simulators.plant import Plant
    from telemetry.derive import derive_samples
    from telemetry.polling import close_readers, device_refs, poll_device, slot_for
    from tests import factories as f

    print("poll-tick time against the number of devices (Modbus TCP inverters, polled in turn):")
    for size in sizes:
        sys_ = f.system(f"grow{size}")
        arr = f.array(f"grow{size}_a", sys_)
        sims = []
        for i in range(size):
            sim = PowdriveSimulator(Plant(), serial=f"GR{size:03d}{i:05d}").start()
            sims.append(sim)
            port = sim.serve_tcp(0)
            f.inverter(f"g{size}_{i}", arr, adapter=f.adapter(f"g{size}_{i}_ad", "powdrive", {
                "transport": "tcp", "host": "127.0.0.1", "port": port}))
        refs = device_refs(sys_.pk)
        try:
            for ref in refs:
                poll_device(ref, slot_for(timezone.now(), 5) - timedelta(seconds=60))
            rounds, began = 3, time.perf_counter()
            for r in range(rounds):
                slot = slot_for(timezone.now(), 5) + timedelta(seconds=5 * r)
                for ref in refs:
                    assert poll_device(ref, slot).ok
                derive_samples(sys_.pk, slot)
            per_tick = (time.perf_counter() - began) / rounds
            print(f"  {size:3d} devices: {per_tick * 1000:8.1f} ms per tick, "
                  f"{per_tick / size * 1000:6.1f} ms per device")
        finally:
            close_readers()
            for sim in sims:
                sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--writers", type=int, default=2, help="processes writing at once in part 1's "
                        "last figure (default 2; 1 leaves it out)")
    parser.add_argument("--ingest-only", action="store_true", help="part 1 alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="solarmon-bench-") as data_dir:
        _setup(args.database_url, data_dir)
        from django.db import connection

        print(f"database: {connection.vendor}")
        bench_ingest(args.ticks, args.writers)
        if args.ingest_only:
            return
        bench_statements()
        bench_growth(args.sizes)


if __name__ == "__main__":
    main()
