"""Alerts app: evaluation hooks on telemetry's and aggregation's signals, default rules on migrate."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _default_rules(sender: AppConfig, **kwargs: Any) -> None:
    from alerts.services import ensure_default_rules

    ensure_default_rules()


class AlertsConfig(AppConfig):
    """Connects the poll and rollup receivers and creates the default rules after migrate."""

    name = "alerts"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from aggregation.signals import rollup_written
        from alerts.evaluation import forget_rules, watch_deleted, watch_saved
        from alerts.models import AlertRule, AlertWatch
        from alerts.receivers import evaluate_after_poll, evaluate_after_rollup
        from telemetry.signals import samples_written

        # The poll path's per-process rules are read again after a rule changes in this process,
        # and its mirror of the watches follows every watch this process saves or deletes.
        post_save.connect(forget_rules, sender=AlertRule, weak=False, dispatch_uid="alerts.forget.AlertRule")
        post_delete.connect(forget_rules, sender=AlertRule, weak=False,
                            dispatch_uid="alerts.forget_deleted.AlertRule")
        post_save.connect(watch_saved, sender=AlertWatch, weak=False, dispatch_uid="alerts.mirror.saved")
        post_delete.connect(watch_deleted, sender=AlertWatch, weak=False,
                            dispatch_uid="alerts.mirror.deleted")

        samples_written.connect(evaluate_after_poll, dispatch_uid="alerts.evaluate_after_poll")
        rollup_written.connect(evaluate_after_rollup, dispatch_uid="alerts.evaluate_after_rollup")
        post_migrate.connect(_default_rules, sender=self)
