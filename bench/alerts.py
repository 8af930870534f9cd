"""Alert evaluation cost: the poll path of 500 devices with alerts on and off, per poll, periodically.

1. The poll path, alerts on against off: 500 devices (300 inverters, 150 packs of 2 units × 16
   cells, 50 meters) with the default rules; whole ticks of every device written with
   ``telemetry.ingest.write_rows`` (its ``samples_written`` receivers included), alternately with
   the alert receiver connected and disconnected (on-off, off-on, … so drift cancels), with nothing
   wrong and with every tenth pack's cells out of balance (15 active alerts that keep holding). The
   difference of each pair is what alerts add; its spread, and the spread of the ticks themselves,
   is the run-to-run noise it is compared with.
2. Per poll: the alert receiver timed inside each write, by device kind, against the write; the same
   with 20,000 cleared alerts in the history.
3. SQL statements about alerts in one poll of each kind (rows given, as the poll path does, and
   read back, as a caller with only the device and time does).
4. The periodic evaluation (offline devices, disk space, collectors) over all 500 devices.

Run: ``.venv/bin/python bench/alerts.py`` (SQLite in a temporary folder; ``--database-url``
for PostgreSQL).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INVERTERS, PACKS, METERS = 300, 150, 50


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


def _site() -> list[tuple[Any, Callable[[datetime, int], list[Any]]]]:
    """The 500 devices, each with a function building its tick's rows (spread: mV on cell 0)."""
    from catalog import models as m
    from catalog.services import save_entity
    from telemetry import models as t
    from tests import factories as f

    sys_ = f.system("bench", timezone="UTC")
    arr = f.array("bench_a", sys_)
    ba = f.battery_array("bench_ba", sys_)
    devices: list[tuple[Any, Callable[[datetime, int], list[Any]]]] = []
    for i in range(INVERTERS):
        inv = f.inverter(f"inv{i}", arr, adapter=f.adapter(f"inv{i}_ad", "powdrive", {
            "transport": "tcp", "host": "192.0.2.1"}))

        def inverter_rows(ts: datetime, _: int, inv: Any = inv) -> list[Any]:
            return [t.EnergySample(ts=ts, inverter_id=inv.pk, array_id=inv.array_id, system_id="bench",
                                   pv_power_w=2500, load_power_w=900, grid_power_w=-400, batt_power_w=1200,
                                   soc=64.0, grid_voltage_v=231.0, pv_total_kwh=1234.5)]
        devices.append((("inverter", inv.pk), inverter_rows))
    for i in range(PACKS):
        pack = f.pack(f"pack{i}", ba, batteries=2, cells=16)
        save_entity(m.BatteryPackAdapter(pack=pack, adapter=f.adapter(f"pack{i}_ad", "jkbms_tcpip", {
            "host": "192.0.2.2", "addresses": [1, 2]})))
        cells = list(m.BatteryCell.objects.filter(pack=pack).values_list("cell_id", "battery_id",
                                                                          "cell_index"))

        def pack_rows(ts: datetime, spread_mv: int, pack: Any = pack, cells: list[Any] = cells) -> list[Any]:
            scope = {"pack_id": pack.pk, "battery_array_id": "bench_ba", "system_id": "bench"}
            rows: list[Any] = [t.BatteryBankSample(ts=ts, voltage=53.1, current=12.0, temperature=24.0,
                                                   soc=64.0, power_w=640.0, **scope)]
            rows += [t.BatteryUnitSample(ts=ts, battery_id=f"{pack.pk}_b{u}", power=u + 1, voltage=53.1,
                                         current=6.0, temperature=24.0, soc=64.0, **scope) for u in range(2)]
            low = spread_mv / 1000
            rows += [t.BatteryCellSample(ts=ts, cell_ref_id=cell, battery_id=battery, power=1, cell=index,
                                         voltage=3.32 - (low if index == 0 else 0) + index / 10000,
                                         temperature=24.0, **scope) for cell, battery, index in cells]
            return rows
        devices.append((("battery_pack", pack.pk), pack_rows))
    for i in range(METERS):
        meter = f.meter(f"meter{i}", sys_, adapter=f.adapter(f"meter{i}_ad", "iammeter", {
            "transport": "tcp", "host": "192.0.2.3"}))

        def meter_rows(ts: datetime, _: int, meter: Any = meter) -> list[Any]:
            return [t.MeterSample(ts=ts, meter_id=meter.pk, system_id="bench", grid_power_w=-400,
                                  grid_voltage_v=231.0)]
        devices.append((("meter", meter.pk), meter_rows))
    return devices


_SPENT: dict[str, list[float]] = {}


def _timed_receiver(sender: Any, **kwargs: Any) -> None:
    """The alert receiver, timed: the seconds each poll's evaluation took, by device kind."""
    from alerts.receivers import evaluate_after_poll

    began = time.perf_counter()
    evaluate_after_poll(sender, **kwargs)
    _SPENT.setdefault(kwargs["device_type"], []).append(time.perf_counter() - began)


def _tick(devices: list[Any], ts: datetime, spread_of: Callable[[int], int],
          write_s: dict[str, list[float]]) -> None:
    """Write one tick of every device, recording each write's seconds (with its signal) by kind."""
    from telemetry import ingest

    for n, ((kind, _), build) in enumerate(devices):
        rows = build(ts, spread_of(n))
        began = time.perf_counter()
        ingest.write_rows(rows)
        write_s.setdefault(kind, []).append(time.perf_counter() - began)


def _use_timed_receiver() -> None:
    from telemetry.signals import samples_written

    samples_written.disconnect(dispatch_uid="alerts.evaluate_after_poll")
    samples_written.connect(_timed_receiver, dispatch_uid="bench.alerts")


def _ms(values: list[float]) -> float:
    return statistics.mean(values) * 1000


BALANCED: Callable[[int], int] = lambda n: 5  # noqa: E731
# Every tenth pack is out of balance: its alert is active and keeps holding at every poll.
FAULTY: Callable[[int], int] = lambda n: 80 if n >= INVERTERS and n % 10 == 0 else 5  # noqa: E731
SCENARIOS = [("nothing wrong", BALANCED), ("15 packs with an active spread alert", FAULTY)]


class _Site:
    """The bench's devices and the next tick's time."""

    def __init__(self) -> None:
        from alerts.models import AlertRule

        spread = AlertRule.objects.get(key="cell-spread")
        spread.raise_after_s = spread.clear_after_s = 0
        spread.save()
        self.devices = _site()
        self.start = datetime(2026, 1, 1, tzinfo=UTC)
        self.slot = 0

    def tick(self, spread_of: Callable[[int], int], write_s: dict[str, list[float]] | None = None
             ) -> tuple[float, float]:
        """Write one tick of every device; its seconds, wall clock and this process's CPU."""
        self.slot += 1
        began, cpu = time.perf_counter(), time.process_time()
        _tick(self.devices, self.start + timedelta(seconds=5 * self.slot), spread_of,
              {} if write_s is None else write_s)
        return time.perf_counter() - began, time.process_time() - cpu


def _alerts_connected(on: bool) -> None:
    from alerts.receivers import evaluate_after_poll
    from telemetry.signals import samples_written

    samples_written.disconnect(dispatch_uid="bench.alerts")
    if on:
        samples_written.connect(evaluate_after_poll, dispatch_uid="alerts.evaluate_after_poll")
    else:
        samples_written.disconnect(dispatch_uid="alerts.evaluate_after_poll")


def bench_on_off(site: _Site, pairs: int) -> None:
    """Whole ticks with the alert receiver connected and disconnected, alternating."""
    print(f"the poll path of {len(site.devices)} devices, alert receiver connected (on) against "
          f"disconnected (off), {pairs} pairs of ticks, alternating (on-off, off-on, …):")
    for label, spread_of in SCENARIOS:
        _alerts_connected(True)
        site.tick(spread_of)  # warm up; the faulty packs' alerts are raised here
        on: list[tuple[float, float]] = []
        off: list[tuple[float, float]] = []
        for n in range(pairs):
            for state in ((True, False) if n % 2 == 0 else (False, True)):
                _alerts_connected(state)
                (on if state else off).append(site.tick(spread_of))
        print(f"  {label}:")
        for clock, i in (("wall clock", 0), ("CPU of this process", 1)):
            _compare(clock, [x[i] for x in on], [x[i] for x in off], len(site.devices))
    _alerts_connected(True)


def _compare(clock: str, on: list[float], off: list[float], devices: int) -> None:
    """One line: the ticks on and off, their paired difference with its error, and the noise."""
    pairs = len(on)
    diffs = [a - b for a, b in zip(on, off, strict=True)]
    mean_on, mean_off, mean_d = statistics.mean(on), statistics.mean(off), statistics.mean(diffs)
    spread_d = statistics.stdev(diffs) if pairs > 1 else math.nan
    noise = statistics.stdev(off) if pairs > 1 else math.nan
    print(f"    {clock}: tick on {mean_on * 1000:.0f} ms, off {mean_off * 1000:.0f} ms; on − off "
          f"{mean_d * 1000:+.1f} ms ({100 * mean_d / mean_off:+.2f} %, {mean_d * 1e6 / devices:+.1f} µs per "
          f"poll) ± {spread_d / math.sqrt(pairs) * 1000:.1f} ms (standard error, {pairs} pairs); noise: "
          f"off ticks spread {noise * 1000:.1f} ms ({100 * noise / mean_off:.1f} %), "
          f"{min(off) * 1000:.0f}–{max(off) * 1000:.0f} ms")


def bench_per_poll(site: _Site, ticks: int) -> None:
    from alerts.models import Alert

    _use_timed_receiver()
    devices = site.devices
    print(f"per poll, {len(devices)} devices ({INVERTERS} inverters, {PACKS} packs of 2 × 16 cells, "
          f"{METERS} meters), {ticks} ticks; mean ms per device poll:")
    for label, spread_of in SCENARIOS:
        site.tick(spread_of)  # warm up: the state changes of a new scenario are not what is measured
        _SPENT.clear()
        write_s: dict[str, list[float]] = {}
        for _ in range(ticks):
            site.tick(spread_of, write_s)
        print(f"  {label}:")
        for kind in write_s:
            alerts_ms, whole_ms = _ms(_SPENT[kind]), _ms(write_s[kind])
            print(f"    {kind:<13} poll write {whole_ms - alerts_ms:6.2f} ms + alert evaluation "
                  f"{alerts_ms:6.3f} ms ({100 * alerts_ms / (whole_ms - alerts_ms):4.1f} % of the write)")
        total_alerts = sum(sum(v) for v in _SPENT.values()) / ticks
        total_write = sum(sum(v) for v in write_s.values()) / ticks - total_alerts
        print(f"    one tick of all {len(devices)}: writes {total_write * 1000:.0f} ms, alert evaluation "
              f"{total_alerts * 1000:.1f} ms ({100 * total_alerts / total_write:.1f} %)")
    print(f"  active alerts now: {Alert.objects.filter(state='active').count()}")
    _history_growth(site, ticks)
    _alerts_connected(True)


def _history_growth(site: _Site, ticks: int) -> None:
    from alerts.models import Alert, AlertRule

    rule = AlertRule.objects.get(key="cell-spread")
    now = datetime(2025, 6, 1, tzinfo=UTC)
    Alert.objects.bulk_create([Alert(rule=rule, device_type="battery_pack", device_id=f"pack{i % PACKS}",
                                     system_id="bench", state="cleared", title="old", raised_at=now,
                                     cleared_at=now + timedelta(minutes=5), values={"spread_mv": 60})
                               for i in range(20000)], batch_size=1000)
    _SPENT.clear()
    for _ in range(ticks):
        site.tick(FAULTY)
    every = [v for values in _SPENT.values() for v in values]
    print(f"  with 20,000 cleared alerts in the history: alert evaluation {_ms(every):6.3f} ms per poll "
          "(the poll path reads watches, never the history)")


def bench_statements(site: _Site, calls: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts.evaluation import evaluate_poll
    from telemetry import ingest
    from telemetry.signals import samples_written

    site.slot += 1
    at = site.start + timedelta(seconds=5 * site.slot)
    sent: dict[str, dict[str, Any]] = {}

    def keep(sender: Any, **kwargs: Any) -> None:
        sent[kwargs["device_id"]] = kwargs

    samples_written.connect(keep, dispatch_uid="bench.keep")
    print("SQL statements about alerts in one poll (pack0 has an active spread alert that holds):")
    for n, ((kind, device), build) in enumerate(site.devices):
        if device not in ("inv1", "pack0", "pack1", "meter1"):
            continue
        with CaptureQueriesContext(connection) as ctx:
            ingest.write_rows(build(at, FAULTY(n)))
        mine = [q for q in ctx.captured_queries if "alert" in q["sql"]]
        with CaptureQueriesContext(connection) as back:
            evaluate_poll(kind, device, "bench", at, at)
        print(f"  {kind:<13} {device:<7} rows given: {len(mine)} of the poll's {len(ctx.captured_queries)} "
              f"statements; read back: {len(back.captured_queries)}")
    samples_written.disconnect(dispatch_uid="bench.keep")
    print(f"evaluate_poll on its own, rows given as the signal gives them, {calls} calls each:")
    for device, what in (("inv1", "nothing wrong"), ("meter1", "nothing wrong"), ("pack1", "nothing wrong"),
                         ("pack0", "its spread alert active and holding")):
        signal = sent[device]
        args = (signal["device_type"], device, "bench", signal["ts"], signal.get("detail_ts"), signal["rows"])
        began = time.perf_counter()
        for _ in range(calls):
            evaluate_poll(*args)
        print(f"  {device:<7} ({what}): {(time.perf_counter() - began) / calls * 1e6:.1f} µs per poll")


def bench_periodic(rounds: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from alerts.evaluation import evaluate_periodic
    from telemetry.models import DeviceStatus

    now = timezone.now()
    DeviceStatus.objects.bulk_create([DeviceStatus(device_type=kind, device_id=device, system_id="bench",
                                                   last_seen=now, poll_interval_s=5, state="online")
                                      for kind, device in _devices_ids()], ignore_conflicts=True)
    evaluate_periodic(now)
    began = time.perf_counter()
    for _ in range(rounds):
        evaluate_periodic(timezone.now())
    per = (time.perf_counter() - began) / rounds
    with CaptureQueriesContext(connection) as ctx:
        evaluate_periodic(timezone.now())
    print(f"periodic evaluation over {len(_devices_ids())} devices: {per * 1000:.1f} ms per run, "
          f"{len(ctx.captured_queries)} statements (every SOLARMON_ALERT_EVALUATE_PERIOD_S, default 30 s)")


def _devices_ids() -> list[tuple[str, str]]:
    return ([("inverter", f"inv{i}") for i in range(INVERTERS)]
            + [("battery_pack", f"pack{i}") for i in range(PACKS)]
            + [("meter", f"meter{i}") for i in range(METERS)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--ticks", type=int, default=3, help="ticks per scenario of the per-poll timing")
    parser.add_argument("--pairs", type=int, default=10, help="on/off pairs of ticks per scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="solarmon-bench-") as data_dir:
        _setup(args.database_url, data_dir)
        from django.db import connection

        print(f"database: {connection.vendor}; load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} "
              f"{os.getloadavg()[2]:.1f} (1, 5, 15 min)")
        site = _Site()
        bench_on_off(site, args.pairs)
        bench_per_poll(site, args.ticks)
        bench_statements(site, 5000)
        bench_periodic(5)
        print(f"load at the end: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")


if __name__ == "__main__":
    main()
