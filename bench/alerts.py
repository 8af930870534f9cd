"""Alert evaluation cost: the poll path of 500 devices with alerts on and off, per poll, periodically.

1. The poll path, alerts on against off: 500 devices (300 inverters, 150 packs of 2 units × 16
   cells, 50 meters) with the default rules; whole ticks of every device written with
   ``telemetry.ingest.write_rows`` (its ``samples_written`` receivers included), with nothing
   wrong and with every tenth pack's cells out of balance (15 active alerts that keep holding).
   The alert receiver sits behind a switch (:class:`AlertGate`) for the whole run, and each
   device's write has alerts on in one tick and off in the next, so on and off interleave within
   every tick (:class:`Interleaved`): the thread CPU of a write on − off, as a mean over pairs of
   ticks with its 95 % interval, against what the receiver itself spent and against the spread
   of whole ticks (which a tick-on against tick-off comparison would have to beat).
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
          write_s: dict[str, list[float]], gated: tuple[AlertGate, Interleaved] | None = None) -> None:
    """Write one tick of every device, recording each write's seconds (with its signal) by kind;
    ``gated``: each device's write with alerts on or off as the round has it, its thread CPU
    recorded."""
    from telemetry import ingest

    for n, ((kind, device), build) in enumerate(devices):
        rows = build(ts, spread_of(n))
        if gated is not None:
            gate, runs = gated
            gate.on = runs.side(device)
            cpu = time.thread_time()
            ingest.write_rows(rows)
            runs.record(gate.on, time.thread_time() - cpu)
            continue
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

    def tick(self, spread_of: Callable[[int], int], write_s: dict[str, list[float]] | None = None,
             gated: tuple[AlertGate, Interleaved] | None = None) -> tuple[float, float]:
        """Write one tick of every device; its seconds, wall clock and this process's CPU."""
        self.slot += 1
        began, cpu = time.perf_counter(), time.process_time()
        _tick(self.devices, self.start + timedelta(seconds=5 * self.slot), spread_of,
              {} if write_s is None else write_s, gated)
        return time.perf_counter() - began, time.process_time() - cpu


def _alerts_connected(on: bool) -> None:
    from alerts.receivers import evaluate_after_poll
    from telemetry.signals import samples_written

    samples_written.disconnect(dispatch_uid="bench.alerts")
    samples_written.disconnect(dispatch_uid=AlertGate.UID)
    if on:
        samples_written.connect(evaluate_after_poll, dispatch_uid="alerts.evaluate_after_poll")
    else:
        samples_written.disconnect(dispatch_uid="alerts.evaluate_after_poll")


class AlertGate:
    """The alert receiver behind a switch, connected once in its place for a whole A/B run.

    Connecting and disconnecting the receiver between rounds is not a fair switch: each change
    empties the signal's receiver cache, and rounds seconds apart on a shared machine differ in
    CPU by far more than the evaluation costs. Behind the gate both sides dispatch to the same
    receivers; ``on`` is set before each poll, so polls with and without alerts interleave
    within one round. Both sides read the thread's CPU clock twice, so what an "on" poll spends
    inside the receiver, less an "off" poll's, is the evaluation's own CPU.
    """

    UID = "bench.alerts.gate"

    def __init__(self) -> None:
        from alerts.receivers import evaluate_after_poll

        self.on = True
        self.inside: dict[bool, list[float]] = {True: [], False: []}
        self._evaluate = evaluate_after_poll

    def __call__(self, sender: Any, **kwargs: Any) -> None:
        began = time.thread_time()
        if self.on:
            self._evaluate(sender, **kwargs)
        self.inside[self.on].append(time.thread_time() - began)

    def __enter__(self) -> AlertGate:
        from telemetry.signals import samples_written

        _alerts_connected(False)
        samples_written.connect(self, weak=False, dispatch_uid=self.UID)
        return self

    def __exit__(self, *exc: object) -> None:
        _alerts_connected(True)


class Interleaved:
    """Polls with alerts on and off, interleaved: in a round each device is on or off, and the
    other way round in the next, so a pair of rounds has every device once each way. The
    figure is the mean over pairs of (mean CPU of a poll on − off), which cancels the devices'
    own differences within a pair and the machine's drift between pairs."""

    def __init__(self) -> None:
        self.rounds: list[dict[bool, list[float]]] = []
        self.order: dict[Any, int] = {}

    def start_round(self) -> None:
        self.rounds.append({True: [], False: []})

    def side(self, device: Any) -> bool:
        """Whether this device's poll in the current round has alerts on."""
        index = self.order.setdefault(device, len(self.order))
        return (index + len(self.rounds)) % 2 == 0

    def record(self, on: bool, cpu_s: float) -> None:
        self.rounds[-1][on].append(cpu_s)

    def report(self, gate: AlertGate, what: str) -> None:
        """Print the paired difference with its 95 % interval, the receiver's own CPU, the noise."""
        per_round = [(statistics.mean(r[True]), statistics.mean(r[False])) for r in self.rounds
                     if r[True] and r[False]]
        pairs = [(a[0] - a[1] + b[0] - b[1]) / 2
                 for a, b in zip(per_round[::2], per_round[1::2], strict=False)]
        off = statistics.mean(o for _, o in per_round)
        on = statistics.mean(o for o, _ in per_round)
        mean_d = statistics.mean(pairs)
        half = (_t95(len(pairs) - 1) * statistics.stdev(pairs) / math.sqrt(len(pairs)) if len(pairs) > 1
                else math.nan)
        inside = statistics.mean(gate.inside[True]) - statistics.mean(gate.inside[False])
        rounds_off = [o for _, o in per_round]
        noise = statistics.stdev(rounds_off) if len(rounds_off) > 1 else math.nan
        polls = sum(len(r[True]) + len(r[False]) for r in self.rounds)
        print(f"  {what}: {len(pairs)} pairs of rounds, {polls} polls; CPU per poll on {on * 1e6:.0f} µs, "
              f"off {off * 1e6:.0f} µs")
        print(f"    on − off: {mean_d * 1e6:+.1f} µs per poll ({100 * mean_d / off:+.2f} %), 95 % interval "
              f"± {half * 1e6:.1f} µs (± {100 * half / off:.2f} %)")
        print(f"    inside the alert receiver (on − off): {inside * 1e6:.1f} µs per poll "
              f"({100 * inside / off:.2f} % of an off poll's CPU), {len(gate.inside[True])} polls on")
        print(f"    noise: a round's mean poll (off) spreads {noise * 1e6:.0f} µs "
              f"({100 * noise / off:.1f} %), "
              f"{min(rounds_off) * 1e6:.0f}–{max(rounds_off) * 1e6:.0f} µs: what a whole round "
              f"on against a whole round off would have to beat")


def _t95(df: int) -> float:
    """Student's t for a two-sided 95 % interval (Cornish–Fisher, within 0.01 from 4 degrees)."""
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def bench_on_off(site: _Site, pairs: int) -> None:
    """Whole ticks of all devices, each device's write with alerts on or off, interleaved."""
    print(f"the poll path's write of {len(site.devices)} devices, alerts on against off, interleaved "
          f"(each device on in one tick, off in the next; {pairs} pairs of ticks), thread CPU per write:")
    for label, spread_of in SCENARIOS:
        site.tick(spread_of)  # warm up; the faulty packs' alerts are raised here
        with AlertGate() as gate:
            site.tick(spread_of)  # both sides warm
            gate.inside = {True: [], False: []}
            runs = Interleaved()
            for _ in range(2 * pairs):
                runs.start_round()
                site.tick(spread_of, gated=(gate, runs))
            runs.report(gate, label)


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
