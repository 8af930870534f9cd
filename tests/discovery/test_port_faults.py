"""Busy, silent and garbage ports are told apart, never configured, and not re-probed every scan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import models as cm
from discovery.models import DeviceDiscovery, PortProbe
from discovery.phases import run_discovery
from telemetry.polling import device_refs, poll_device

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _actions(report: object) -> list[tuple[str, str]]:
    return [(ln.port, ln.action) for ln in report.lines]  # type: ignore[attr-defined]


def test_a_port_held_by_another_process_is_skipped_as_busy(
        modbus_device: Callable, hold_exclusively: Callable) -> None:
    _, path = modbus_device("powdrive", serial="PD23456789")
    hold_exclusively(path)

    report = run_discovery(port_globs=[path])

    assert _actions(report) == [(path, "skipped busy")]
    assert not DeviceDiscovery.objects.exists() and not cm.Inverter.objects.exists()
    assert PortProbe.objects.get(port=path).next_probe_at is None  # tried again next scan


def test_a_silent_port_is_recorded_and_waits_before_the_next_probe(silent_port: str) -> None:
    now = timezone.now()

    report = run_discovery(port_globs=[silent_port], now=now)

    assert _actions(report) == [(silent_port, "silent")]
    probe = PortProbe.objects.get(port=silent_port)
    assert probe.last_result == "silent" and probe.strikes == 1
    assert probe.next_probe_at is not None and probe.next_probe_at > now
    for adapter_type in ("pytes", "powdrive", "senergy", "iammeter"):
        assert f"{adapter_type} (" in probe.detail

    again = run_discovery(port_globs=[silent_port], now=now + timedelta(seconds=1))
    assert _actions(again) == [(silent_port, "skipped backoff")]
    assert PortProbe.objects.get(port=silent_port).strikes == 1

    later = run_discovery(port_globs=[silent_port], now=probe.next_probe_at + timedelta(seconds=1))
    assert _actions(later) == [(silent_port, "silent")]
    assert PortProbe.objects.get(port=silent_port).strikes == 2


def test_a_manual_run_probes_a_waiting_port_anyway(silent_port: str) -> None:
    run_discovery(port_globs=[silent_port])
    report = run_discovery(port_globs=[silent_port], respect_port_backoff=False)
    assert _actions(report) == [(silent_port, "silent")]


def test_a_port_speaking_garbage_is_recorded_as_garbage(garbage_port: str) -> None:
    report = run_discovery(port_globs=[garbage_port])

    assert _actions(report) == [(garbage_port, "garbage")]
    assert PortProbe.objects.get(port=garbage_port).last_result == "garbage"
    assert not DeviceDiscovery.objects.exists()


def test_faulty_ports_do_not_stop_a_device_on_another_port_from_being_configured(
        modbus_device: Callable, silent_port: str, garbage_port: str) -> None:
    _, path = modbus_device("senergy", serial="SE6K2023A0001234")

    report = run_discovery(port_globs=[silent_port, garbage_port, path])

    assert sorted(ln.action for ln in report.lines) == ["created", "garbage", "silent"]
    assert cm.Inverter.objects.filter(pk="senergy_001234").exists()


def test_a_port_a_configured_device_is_polled_on_is_never_probed(modbus_device: Callable) -> None:
    sim, path = modbus_device("powdrive", serial="PD23456789")
    run_discovery(port_globs=[path])
    assert poll_device(device_refs()[0]).ok
    sim.stats.reset()

    report = run_discovery(port_globs=[path])

    assert sim.stats.transactions == 0  # not a single request went to the device
    assert [(ln.device_id, ln.action) for ln in report.lines] == [("powdrive_456789", "skipped in use")]
    assert DeviceDiscovery.objects.get().status == "active"


def test_a_port_budget_skips_the_remaining_probes(silent_port: str, settings: object) -> None:
    settings.SOLARMON_DISCOVERY_PORT_BUDGET_S = 0.3  # type: ignore[attr-defined]

    run_discovery(port_globs=[silent_port])

    detail = PortProbe.objects.get(port=silent_port).detail
    assert "time budget spent" in detail
    assert "iammeter (" not in detail  # the last type in the order was never tried


def test_a_device_that_answers_but_is_not_recognized_is_recorded_with_each_error_kind(
        modbus_device: Callable) -> None:
    # A Deye-family register map whose serial registers hold no printable text.
    _, path = modbus_device("powdrive", serial="\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a")

    report = run_discovery(port_globs=[path])

    assert _actions(report) == [(path, "unrecognized")]
    detail = PortProbe.objects.get(port=path).detail
    assert "powdrive (9600 baud, unit 1): unrecognized - WrongDevice" in detail
    assert "senergy (9600 baud, unit 1): unrecognized - ModbusExceptionReply" in detail  # illegal address
    assert "pytes (115200 baud): silent - TransportError" in detail
    assert not DeviceDiscovery.objects.exists()


def test_the_beat_schedule_runs_discovery_and_expires_before_the_next_run() -> None:
    from solarmon.schedule import beat_entries

    entry = next(e for e in beat_entries() if e.task == "discovery.tasks.dispatch_discovery")
    assert entry.every_s == 300 and entry.expires_s is not None and entry.expires_s < entry.every_s
