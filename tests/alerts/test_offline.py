"""End to end: a device whose simulator stops answering is reported offline, and back online."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.evaluation import evaluate_periodic
from alerts.models import Alert
from solarmon.demo import DemoRig
from telemetry.models import DeviceStatus
from telemetry.polling import poll_device
from telemetry.status import STALE_AFTER_INTERVALS
from tests.alerts.conftest import ref_of, rule

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

DELAY_S = 2


def test_a_stopped_device_raises_offline_after_its_stale_time_and_delay_and_clears_when_it_returns(
        inverter_site: DemoRig) -> None:
    offline = rule("offline-inverter", raise_after_s=DELAY_S)
    ref = ref_of("powdrive1")
    assert poll_device(ref).ok
    evaluate_periodic()
    assert not Alert.objects.exists()

    inverter_site.by_adapter["powdrive1_adapter"].inject(no_reply=True)
    last_seen = DeviceStatus.objects.get(device_id="powdrive1").last_seen
    deadline = time.monotonic() + 20
    while not Alert.objects.exists() and time.monotonic() < deadline:
        assert not poll_device(ref).ok  # the worker keeps trying; the device keeps failing
        evaluate_periodic()
        time.sleep(0.2)
    alert = Alert.objects.get()
    stale_plus_delay = timedelta(seconds=STALE_AFTER_INTERVALS * ref.interval_s + DELAY_S)
    # Not before its stale time plus the delay, and within one evaluation round (~1 s here) of it.
    assert stale_plus_delay <= alert.raised_at - last_seen <= stale_plus_delay + timedelta(seconds=2)
    assert (alert.rule, alert.device_type, alert.device_id, alert.state) == (
        offline, "inverter", "powdrive1", "active")
    assert alert.values["consecutive_failures"] >= 1 and alert.values["last_error"]
    evaluate_periodic()  # still offline: nothing new
    assert Alert.objects.count() == 1

    inverter_site.by_adapter["powdrive1_adapter"].clear_faults()
    assert poll_device(ref).ok
    alert.refresh_from_db()
    assert alert.state == "cleared" and alert.cleared_at is not None
    assert alert.cleared_at <= timezone.now()
    evaluate_periodic()
    assert Alert.objects.count() == 1 and Alert.objects.get().state == "cleared"
