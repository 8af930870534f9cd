"""Two collectors on one machine, one Redis broker, one beat: each polls and discovers only its own.

Collector alpha runs the beat. Each collector has a serial inverter (RTU on a pty) and an
inverter behind one RS485-to-TCP gateway that both share, and finds a new device on its own
ports. Then beta is killed: its devices turn offline and nobody else polls them, while
alpha's keep their schedule, and the collector-down alert names beta.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from adapters.simulators.modbus import ModbusSimulator, PowdriveSimulator, SenergySimulator
from alerts.evaluation import evaluate_periodic
from alerts.models import Alert
from catalog import models as m
from catalog.choices import CollectorState
from catalog.collectors import collector_state
from discovery.models import DeviceDiscovery, PortProbe
from solarmon.schedule import install_beat_schedule
from telemetry import models as t
from telemetry.choices import DeviceState
from telemetry.status import effective_state
from tests import factories as f
from tests.alerts.conftest import rule
from tests.telemetry.conftest import Worker

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.timeout(240)]

INTERVAL_S = 1.0


class OverlapWatch:
    """Counts requests that reach the gateway while another connection's reply is still due.

    A real RS485 line behind a transparent gateway garbles both frames then. Every reply is
    held back a little, so two pollers that are not kept apart overlap at once.
    """

    def __init__(self, sim: ModbusSimulator) -> None:
        self.overlaps = 0
        self.requests = 0
        self.connections: set[int] = set()
        self._waiting: set[int] = set()
        server: Any = sim.server
        answer, send = server._answer, server._send

        def watched_answer(conn: Any, *args: Any) -> None:
            self.requests += 1
            self.connections.add(id(conn))
            if self._waiting - {id(conn)}:
                self.overlaps += 1
            self._waiting.add(id(conn))
            answer(conn, *args)

        def watched_send(conn: Any, data: bytes) -> None:
            self._waiting.discard(id(conn))
            send(conn, data)

        server._answer, server._send = watched_answer, watched_send
        sim.inject(delay_s=0.03)


def _wait(condition: Callable[[], bool], timeout_s: float, what: str, workers: list[Worker],
          every: Callable[[], None] = lambda: None, seen: Callable[[], object] = lambda: "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        every()
        if condition():
            return
        for worker in workers:
            assert worker.alive(), f"a worker died:\n{worker.log_tail()}"
        time.sleep(0.3)
    logs = "\n\n".join(w.log_tail() for w in workers)
    raise AssertionError(f"timed out waiting for {what} (last seen: {seen()})\n{logs}")


@pytest.fixture
def sims() -> Iterator[list[ModbusSimulator]]:
    running: list[ModbusSimulator] = []
    yield running
    for sim in running:
        sim.stop()


def _serial_inverter(sims: list[ModbusSimulator], kind: type[ModbusSimulator], serial: str) -> str:
    sim = kind(serial=serial)
    path = sim.serve_rtu()
    sims.append(sim.start())
    return path


def _samples(inverter_id: str, after: datetime | None = None) -> int:
    rows = t.EnergySample.objects.filter(inverter_id=inverter_id)
    return rows.filter(ts__gt=after).count() if after else rows.count()


def test_each_collector_polls_and_discovers_only_its_own_devices(
        live_db: None, redis_url: str, sims: list[ModbusSimulator], tmp_path: Path, settings: Any) -> None:
    tag = uuid.uuid4().hex[:6]  # queues of earlier runs on the same Redis stay out of the way
    alpha, beta = f"alpha{tag}", f"beta{tag}"
    array = f.array("array1", f.system("system"))
    fast = {"timeout": 0.5}
    for name, collector, kind, serial in (("alpha_rtu", alpha, PowdriveSimulator, "PDA0000001"),
                                          ("beta_rtu", beta, SenergySimulator, "SEB0000001")):
        path = _serial_inverter(sims, kind, serial)
        f.inverter(name, array, adapter=f.adapter(f"{name}_adapter", kind.adapter_type, {
            "transport": "rtu", "serial_port": path, **fast}, collector_id=collector,
            poll_interval_s=INTERVAL_S))
    gateway = PowdriveSimulator(serial="PDG0000001")
    gateway_port = gateway.serve_rtu_over_tcp(0)
    sims.append(gateway.start())
    watch = OverlapWatch(gateway)
    for name, collector in (("gw_alpha", alpha), ("gw_beta", beta)):
        f.inverter(name, array, adapter=f.adapter(f"{name}_adapter", "powdrive", {
            "transport": "rtu_over_tcp", "host": "127.0.0.1", "port": gateway_port, **fast},
            collector_id=collector, poll_interval_s=INTERVAL_S))
    # A device nobody configured yet on each collector's own ports.
    ports: dict[str, list[str]] = {}
    for collector, kind, serial in ((alpha, PowdriveSimulator, "PD77000001"), (beta, SenergySimulator,
                                                                                "SE88000002")):
        folder = tmp_path / collector / "dev"
        folder.mkdir(parents=True)
        (folder / "ttyNEW0").symlink_to(_serial_inverter(sims, kind, serial))
        ports[collector] = [str(folder / "ttyNEW0")]

    settings.SOLARMON_DISPATCH_PERIOD_S = 1
    settings.SOLARMON_COLLECTOR_DOWN_AFTER_S = 3
    settings.SOLARMON_DISCOVERY_INTERVAL_S = 3
    install_beat_schedule()
    common = {"CELERY_BROKER_URL": redis_url, "SOLARMON_COLLECTOR_HEARTBEAT_S": "0.5",
              "SOLARMON_COLLECTOR_DOWN_AFTER_S": "3", "SOLARMON_BUS_LOCK_TTL_S": "2",
              "SOLARMON_DISCOVERY_SCAN_SYSTEM_PORTS": "false", "SOLARMON_DISCOVERY_PROBE_TIMEOUT_S": "0.3",
              "SOLARMON_LOG_LEVEL": "WARNING"}

    def env(collector: str) -> dict[str, str]:
        data = tmp_path / collector
        return {**common, "SOLARMON_COLLECTOR": collector, "SOLARMON_DATA_DIR": str(data),
                "SOLARMON_DISCOVERY_INCLUDE_GLOBS": str(data / "dev" / "*"),
                "SOLARMON_DISCOVERY_BY_ID_DIR": str(data / "by-id")}

    # Nothing more than the README's command lines.
    workers = [Worker(tmp_path / "alpha.log", env(alpha), "--beat"), Worker(tmp_path / "beta.log", env(beta))]
    seen: dict[str, set[str]] = {}

    def record_pollers() -> None:
        for device_id, collector in t.DeviceStatus.objects.exclude(collector="").values_list(
                "device_id", "collector"):
            seen.setdefault(device_id, set()).add(collector)

    try:
        # ---- both collectors poll their own devices and find their own new ones ----------
        _wait(lambda: all(_samples(i) >= 3 for i in ("alpha_rtu", "beta_rtu", "gw_alpha", "gw_beta"))
              and DeviceDiscovery.objects.count() == 2, 120, "polls and discoveries", workers,
              every=record_pollers,
              seen=lambda: ({i: _samples(i) for i in ("alpha_rtu", "beta_rtu", "gw_alpha", "gw_beta")},
                            list(DeviceDiscovery.objects.values_list("serial_number", "collector"))))
        found = {row.serial_number: row for row in DeviceDiscovery.objects.select_related("adapter")}
        assert (found["PD77000001"].collector_id, found["SE88000002"].collector_id) == (alpha, beta)
        assert found["PD77000001"].adapter.collector_id == alpha
        assert found["SE88000002"].adapter.collector_id == beta
        assert {(p.collector, p.port) for p in PortProbe.objects.all()} <= {
            (alpha, ports[alpha][0]), (beta, ports[beta][0])}
        record_pollers()
        assert {d: seen[d] for d in ("alpha_rtu", "gw_alpha")} == {"alpha_rtu": {alpha}, "gw_alpha": {alpha}}
        assert {d: seen[d] for d in ("beta_rtu", "gw_beta")} == {"beta_rtu": {beta}, "gw_beta": {beta}}
        assert len(watch.connections) >= 2 and watch.requests > 0
        assert watch.overlaps == 0, "two collectors talked on the shared gateway at once"
        # Serial ports are opened exclusively: a second poller would have failed there.
        failures = dict(t.DeviceStatus.objects.filter(device_id__in=[
            "alpha_rtu", "beta_rtu", "gw_alpha", "gw_beta"]).values_list("device_id", "consecutive_failures"))
        assert set(failures.values()) == {0}, failures

        # ---- beta dies: its devices go offline, alpha's keep their schedule ---------------
        rule("collector-down", raise_after_s=0)
        evaluate_periodic()
        assert not Alert.objects.filter(rule__key="collector-down").exists()  # both up
        workers[1].proc.send_signal(signal.SIGKILL)
        workers[1].proc.wait(10)
        killed_at = timezone.now()
        before = {i: _samples(i) for i in ("alpha_rtu", "gw_alpha")}
        beta_devices = ["beta_rtu", "gw_beta"]

        def beta_offline() -> bool:
            now = timezone.now()
            statuses = t.DeviceStatus.objects.filter(device_id__in=beta_devices)
            return all(effective_state(s, now) == DeviceState.OFFLINE for s in statuses)

        _wait(beta_offline, 60, "beta's devices to turn offline", workers[:1], every=record_pollers)
        elapsed = (timezone.now() - killed_at).total_seconds()
        assert collector_state(m.Collector.objects.get(pk=beta), timezone.now()) == CollectorState.DOWN
        assert collector_state(m.Collector.objects.get(pk=alpha), timezone.now()) == CollectorState.UP
        evaluate_periodic()
        down = Alert.objects.filter(rule__key="collector-down", state="active")
        assert [(a.device_type, a.device_id) for a in down] == [("collector", beta)]
        for device_id in beta_devices:
            assert seen[device_id] == {beta}, f"{device_id} was polled by another collector"
            assert _samples(device_id, after=killed_at) == 0
            status = t.DeviceStatus.objects.get(device_id=device_id)
            assert f"collector {beta} is down" in status.last_error and status.missed_polls > 0
        now = timezone.now()
        for device_id in ("alpha_rtu", "gw_alpha"):
            gained = _samples(device_id) - before[device_id]
            assert gained >= elapsed / INTERVAL_S / 3, f"{device_id}: {gained} polls in {elapsed:.0f} s"
            assert effective_state(t.DeviceStatus.objects.get(device_id=device_id), now) == DeviceState.ONLINE
        # Alpha's discovery runs on: it never reports beta's device missing.
        row = DeviceDiscovery.objects.get(serial_number="SE88000002")
        assert (row.status, row.failure_count) == ("active", 0)
        assert watch.overlaps == 0
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
def live_db(transactional_db: None) -> None:
    """Committed rows, so the worker processes see them."""
