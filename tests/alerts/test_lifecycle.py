"""What other parts rely on: alert_changed for each event, pruning, defaults, polls never broken."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from alerts.kinds.base import Finding, Observation
from alerts.models import Alert, AlertRule, AlertWatch
from alerts.receivers import evaluate_after_poll
from alerts.services import (
    alert_acknowledge,
    alert_clear,
    alert_raise,
    ensure_default_rules,
    prune_alert_history,
    rule_save,
)
from alerts.signals import alert_changed
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _raise(at_ago_s: int = 0) -> Alert:
    finding = Finding("battery_pack", "pack1", "system", Observation(True, False, {"soc": 9.0}))
    at = timezone.now() - timedelta(seconds=at_ago_s)
    alert = alert_raise(AlertRule.objects.get(key="soc-low"), finding, at, None)
    assert alert is not None
    return alert


def test_alert_changed_is_sent_once_per_raise_clear_and_acknowledgement(
        django_capture_on_commit_callbacks: Any) -> None:
    f.system("system")
    heard: list[tuple[int, str]] = []

    def listener(sender: Any, *, alert: Alert, event: str, **kwargs: Any) -> None:
        heard.append((alert.pk, event))

    alert_changed.connect(listener, dispatch_uid="test-listener")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            alert = _raise()
            again = Finding("battery_pack", "pack1", "system", Observation(True, False, {}))
            assert alert_raise(alert.rule, again, timezone.now(), None) is None  # active: not raised twice
            alert_acknowledge(alert, User.objects.create_user("owner"))
            alert_acknowledge(alert, User.objects.create_user("other"))
            alert_clear(AlertWatch.objects.get(alert=alert), {"soc": 30.0}, timezone.now())
    finally:
        alert_changed.disconnect(dispatch_uid="test-listener")
    assert heard == [(alert.pk, "raised"), (alert.pk, "acknowledged"), (alert.pk, "cleared")]
    assert Alert.objects.get().acknowledged_by.username == "owner"


def test_a_failing_alert_listener_does_not_undo_the_alert(django_capture_on_commit_callbacks: Any) -> None:
    f.system("system")

    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("publisher down")

    alert_changed.connect(broken, dispatch_uid="test-broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _raise()
    finally:
        alert_changed.disconnect(dispatch_uid="test-broken")
    assert Alert.objects.get().state == "active"


def test_evaluation_trouble_never_escapes_into_the_poll() -> None:
    # A sample time that is not a time makes the evaluation fail: logged, not raised into the poll.
    evaluate_after_poll(None, device_type="inverter", device_id="inv1", system_id="system",
                        ts="not a time")  # type: ignore[arg-type]


@override_settings(SOLARMON_ALERT_HISTORY_DAYS=30)
def test_history_older_than_the_setting_is_pruned_and_active_alerts_are_kept() -> None:
    f.system("system")
    old = _raise(at_ago_s=40 * 86400)
    alert_clear(AlertWatch.objects.get(alert=old), {}, timezone.now() - timedelta(days=31))
    recent = _raise(at_ago_s=10 * 86400)
    alert_clear(AlertWatch.objects.get(alert=recent), {}, timezone.now() - timedelta(days=29))
    active = _raise(at_ago_s=90 * 86400)
    assert prune_alert_history() == 1
    assert set(Alert.objects.values_list("pk", flat=True)) == {recent.pk, active.pk}


def test_default_rules_come_back_only_when_missing_and_keep_the_owners_changes() -> None:
    spread = AlertRule.objects.get(key="cell-spread")
    spread.high, spread.enabled = 80.0, False
    spread.save()
    AlertRule.objects.filter(key="disk-space").delete()
    assert ensure_default_rules() == ["Disk space low"]
    spread.refresh_from_db()
    assert (spread.high, spread.enabled) == (80.0, False)
    assert ensure_default_rules() == []


def test_disabling_a_rule_clears_its_active_alerts() -> None:
    f.system("system")
    alert = _raise()
    rule = alert.rule
    rule.enabled = False
    rule_save(rule)
    alert.refresh_from_db()
    assert alert.state == "cleared" and alert.clear_values == {"reason": "rule disabled"}
    assert not AlertWatch.objects.exists()
