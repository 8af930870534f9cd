"""Celery tasks for alerts. Thin: they call the evaluation and pruning services."""

from __future__ import annotations

from celery import shared_task

EVALUATE_TIME_LIMIT_S = 120


@shared_task(ignore_result=True, soft_time_limit=EVALUATE_TIME_LIMIT_S - 10, time_limit=EVALUATE_TIME_LIMIT_S)
def evaluate_alerts() -> int:
    """The periodic rules (offline devices, disk space, collectors), which no poll triggers; changes made."""
    from alerts.evaluation import evaluate_periodic

    return evaluate_periodic()


@shared_task(ignore_result=True)
def prune_alert_history() -> int:
    """Delete alerts cleared longer ago than SOLARMON_ALERT_HISTORY_DAYS."""
    from alerts.services import prune_alert_history as prune

    return prune()
