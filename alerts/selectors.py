"""Reads of alerts for the dashboard: the banner's active alerts, the page's history."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, QuerySet, Value, When

from alerts.choices import AlertState, Severity
from alerts.models import Alert


@dataclass(frozen=True)
class ActiveAlerts:
    """How many alerts are active, how many of them critical, and the first few to name."""

    count: int
    critical: int
    first: list[Alert]


def active_alerts(shown: int = 3) -> ActiveAlerts:
    """The active alerts, critical first, newest first (two small queries on an indexed column)."""
    active = Alert.objects.filter(state=AlertState.ACTIVE)
    critical_first = Case(When(severity=Severity.CRITICAL, then=Value(0)), default=Value(1),
                          output_field=IntegerField())
    first = list(active.select_related("rule").order_by(critical_first, "-raised_at", "-id")[:shown])
    if len(first) < shown:
        return ActiveAlerts(len(first), sum(a.severity == Severity.CRITICAL for a in first), first)
    return ActiveAlerts(active.count(), active.filter(severity=Severity.CRITICAL).count(), first)


def alert_history() -> QuerySet[Alert]:
    """Cleared alerts, newest first."""
    return Alert.objects.filter(state=AlertState.CLEARED).select_related("rule", "acknowledged_by").order_by(
        "-raised_at", "-id")


def current_alerts() -> list[Alert]:
    """Every active alert, critical first, newest first."""
    critical_first = Case(When(severity=Severity.CRITICAL, then=Value(0)), default=Value(1),
                          output_field=IntegerField())
    return list(Alert.objects.filter(state=AlertState.ACTIVE).select_related("rule", "acknowledged_by")
                .order_by(critical_first, "-raised_at", "-id"))
