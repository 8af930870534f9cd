"""Write services for alerts: raise, clear, acknowledge, rules, default rules, history pruning.

The evaluation, the admin, the API and the dashboard all write through these.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.choices import AlertEvent, AlertState
from alerts.defaults import default_rules
from alerts.kinds.base import Finding
from alerts.models import Alert, AlertRule, AlertWatch, subject_label
from alerts.signals import alert_changed

log = logging.getLogger(__name__)


def _announce(alert: Alert, event: str) -> None:
    """Send ``alert_changed`` once the change is committed; a failing receiver is only logged."""
    def send() -> None:
        for receiver, result in alert_changed.send_robust(sender=Alert, alert=alert, event=event):
            if isinstance(result, Exception):
                log.error("alert_changed receiver %s failed: %s", receiver, result, exc_info=result)

    transaction.on_commit(send)


def watch_start(rule: AlertRule, finding: Finding, since: datetime | None) -> None:
    """Remember that a condition began (it waits out the rule's raise delay)."""
    try:
        with transaction.atomic():
            AlertWatch.objects.create(rule=rule, device_type=finding.subject_type,
                                      device_id=finding.subject_id, system_id=finding.system_id, since=since)
    except IntegrityError:
        pass  # another process started watching the same subject at the same moment


def alert_raise(rule: AlertRule, finding: Finding, at: datetime, watch: AlertWatch | None) -> Alert | None:
    """Raise the rule's alert for the finding's subject (None if one is already active)."""
    values = finding.observation.values
    label = subject_label(finding.subject_type, finding.subject_id)
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule, device_type=finding.subject_type, device_id=finding.subject_id,
                system_id=finding.system_id, severity=rule.severity, raised_at=at, values=values,
                title=rule.rule_kind.title(label, values, True)[:300])
            if watch is None:
                AlertWatch.objects.create(rule=rule, device_type=finding.subject_type,
                                          device_id=finding.subject_id, system_id=finding.system_id,
                                          alert=alert)
            else:
                watch.alert, watch.since = alert, None
                watch.save(update_fields=["alert", "since"])
    except IntegrityError:
        log.info("%s: already active for %s", rule.name, label)
        return None
    log.warning("alert raised: %s", alert.title)
    _announce(alert, AlertEvent.RAISED)
    return alert


@transaction.atomic
def alert_clear(watch: AlertWatch, values: dict[str, Any], at: datetime) -> Alert:
    """Clear the watch's active alert with the values that cleared it, and stop watching."""
    alert = watch.alert
    assert alert is not None
    alert.state, alert.cleared_at, alert.clear_values = AlertState.CLEARED, at, values
    alert.save(update_fields=["state", "cleared_at", "clear_values"])
    watch.delete()
    log.warning("alert cleared: %s", alert.headline())
    _announce(alert, AlertEvent.CLEARED)
    return alert


def alert_acknowledge(alert: Alert, user: AbstractBaseUser | AnonymousUser) -> Alert:
    """Record that a user has seen the alert (once: a second acknowledgement changes nothing)."""
    if alert.acknowledged_at is not None:
        return alert
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by_id = user.pk  # type: ignore[assignment]
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    _announce(alert, AlertEvent.ACKNOWLEDGED)
    return alert


@transaction.atomic
def rule_save(rule: AlertRule) -> AlertRule:
    """Validate and save a rule (admin and API). Disabling a rule clears its active alerts: the
    owner no longer wants to hear of that condition, so it must not stay on the banner."""
    rule.full_clean()
    rule.save()
    if not rule.enabled:
        now = timezone.now()
        for watch in AlertWatch.objects.filter(rule=rule).select_related("alert"):
            if watch.alert_id is not None:
                alert_clear(watch, {"reason": "rule disabled"}, now)
            else:
                watch.delete()
    return rule


def rule_delete(rule: AlertRule) -> None:
    """Delete a rule and its history; default rules are only ever disabled."""
    if rule.key:
        raise ValidationError(f"“{rule.name}” is a default rule: disable it instead of deleting it")
    rule.delete()


def ensure_default_rules() -> list[str]:
    """Create each default rule that does not exist yet (by key); returns the names created.

    Runs after every migrate, so a default rule added in a later version appears on upgrade,
    and one the owner has edited or disabled is left as it is.
    """
    existing = set(AlertRule.objects.filter(key__isnull=False).values_list("key", flat=True))
    created = []
    for key, fields in default_rules().items():
        if key not in existing:
            rule_save(AlertRule(key=key, **fields))
            created.append(fields["name"])
    if created:
        log.info("created default alert rules: %s", ", ".join(created))
    return created


def prune_alert_history(now: datetime | None = None) -> int:
    """Delete alerts cleared more than ``SOLARMON_ALERT_HISTORY_DAYS`` ago; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SOLARMON_ALERT_HISTORY_DAYS)
    deleted, _ = Alert.objects.filter(state=AlertState.CLEARED, cleared_at__lt=cutoff).delete()
    return deleted
