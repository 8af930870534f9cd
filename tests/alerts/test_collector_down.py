"""Collectors and alerts: collector down (only with several), and a restart's own silence is no outage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.evaluation import evaluate_periodic
from alerts.models import Alert
from catalog.collectors import collector_heartbeat, collector_register, collector_stopped, ensure_collector
from catalog.models import Collector
from telemetry.models import DeviceStatus
from tests import factories as f
from tests.alerts.conftest import rule

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def down_after(settings: Any) -> None:
    settings.SOLARMON_COLLECTOR_DOWN_AFTER_S = 60


def active() -> dict[str, str]:
    return {a.device_id: a.title for a in Alert.objects.filter(rule__key="collector-down", state="active")}


def test_a_collector_that_stops_heartbeating_is_raised_after_the_delay_and_cleared_when_it_is_back() -> None:
    rule("collector-down", raise_after_s=120)
    collector_register("pi-house", host="pi-house", ports=[], now=T0)
    collector_register("pi-garage", host="pi-garage", ports=[], now=T0)
    collector_heartbeat("pi-house", ports=[], now=T0 + timedelta(seconds=200))
    # pi-garage went silent at T0: down from T0 + 60 s, raised 120 s later.
    assert evaluate_periodic(T0 + timedelta(seconds=150)) == 0
    assert active() == {}
    evaluate_periodic(T0 + timedelta(seconds=181))
    assert active() == {"pi-garage": "Collector pi-garage is down: its devices are not polled"}
    alert = Alert.objects.get(rule__key="collector-down")
    assert (alert.device_type, alert.raised_at) == ("collector", T0 + timedelta(seconds=181))
    assert alert.values["last_heartbeat"] == T0.isoformat()

    evaluate_periodic(T0 + timedelta(seconds=240))  # still down: one alert, raised once
    assert Alert.objects.filter(rule__key="collector-down").count() == 1
    collector_heartbeat("pi-garage", ports=[], now=T0 + timedelta(seconds=250))
    collector_heartbeat("pi-house", ports=[], now=T0 + timedelta(seconds=250))
    evaluate_periodic(T0 + timedelta(seconds=260))
    alert.refresh_from_db()
    assert alert.state == "cleared" and alert.headline() == "Collector pi-garage is up again"


def test_a_single_collector_is_never_reported_down() -> None:
    rule("collector-down", raise_after_s=0)
    collector_register("pi-house", host="pi-house", ports=[], now=T0)
    collector_stopped("pi-house", T0 + timedelta(seconds=10))
    evaluate_periodic(T0 + timedelta(hours=1))
    assert not Alert.objects.filter(rule__key="collector-down").exists()


def test_a_collector_whose_worker_never_ran_is_down_and_one_removed_clears() -> None:
    rule("collector-down", raise_after_s=0)
    collector_register("pi-house", host="pi-house", ports=[], now=T0)
    ensure_collector("pi-shed")  # assigned devices, but its worker was never started
    evaluate_periodic(T0 + timedelta(seconds=30))
    assert active() == {"pi-shed": "Collector pi-shed is down: its worker was never seen running"}
    Collector.objects.filter(pk="pi-shed").delete()  # back to one collector
    evaluate_periodic(T0 + timedelta(seconds=60))
    assert active() == {}
    assert Alert.objects.get(rule__key="collector-down").clear_values == {"reason": "no longer monitored"}


def test_a_restart_raises_no_offline_alert_for_devices_seen_before_it_until_its_delay_has_passed() -> None:
    offline = rule("offline-inverter", raise_after_s=600)
    sys = f.system("system")
    f.inverter("inv1", f.array("array1", sys), adapter=f.adapter(
        "inv1_adapter", "powdrive", {"transport": "tcp", "host": "192.0.2.10"}, poll_interval_s=5))
    # Last seen an hour before the worker started (solarmon was stopped meanwhile).
    DeviceStatus.objects.create(device_type="inverter", device_id="inv1", system=sys, state="offline",
                                last_seen=T0 - timedelta(hours=1), poll_interval_s=5, collector="pi-house")
    collector_register("pi-house", host="pi-house", ports=[], now=T0)
    evaluate_periodic(T0 + timedelta(seconds=2))  # before its first poll after the start
    assert not Alert.objects.filter(rule=offline).exists()
    evaluate_periodic(T0 + timedelta(seconds=599))
    assert not Alert.objects.filter(rule=offline).exists()
    evaluate_periodic(T0 + timedelta(seconds=601))  # still not answering, 10 min after the start
    assert Alert.objects.get(rule=offline).device_id == "inv1"
