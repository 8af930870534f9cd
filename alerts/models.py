"""Alert rules, alerts (states with a history) and the watches that carry a condition between polls.

An ``Alert`` is a state, not a message: raised once when its rule's condition has held for the
rule's minimum duration, active while it holds, cleared once when it has been gone (past the
hysteresis) for the rule's clear duration. At most one alert per rule and subject is active, a
database constraint says so. An ``AlertWatch`` exists only while something is in progress for a
rule and subject (a condition waiting out its raise delay, or an active alert), so the poll path
reads a handful of rows, never the history.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from alerts.choices import AlertState, Severity, SubjectType
from alerts.kinds import all_kinds, kind_choices, rule_kind
from alerts.kinds.base import RuleKind
from catalog import models as catalog
from telemetry.choices import DeviceKind


class AlertRule(models.Model):
    """A condition worth telling the owner about, with its limits and delays.

    The kind (``cell_spread``, ``device_offline``…) says what is looked at; ``low``/``high`` are
    its limits in the kind's unit, ``hysteresis`` how far back inside them a value must come to
    count as cleared. The rule may be narrowed to one device kind, system or device. Default
    rules (with a ``key``) are created on migrate; they can be edited and disabled, not deleted.
    """

    key = models.SlugField(max_length=64, unique=True, null=True, blank=True, editable=False,
                           help_text="Set on the default rules (which can be disabled, not deleted)")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=kind_choices,
                            help_text="What the rule looks at; see each kind's description")
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    device_kind = models.CharField(max_length=16, choices=DeviceKind.choices, blank=True, default="",
                                   help_text="Only devices of this kind (empty = every kind the rule "
                                   "applies to)")
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id", null=True,
                               blank=True, related_name="alert_rules", help_text="Only this system "
                               "(empty = every system)")
    device_id = models.CharField(max_length=64, blank=True, default="",
                                 help_text="Only this device (empty = every device)")
    low = models.FloatField(null=True, blank=True, help_text="Lower limit, in the kind's unit")
    high = models.FloatField(null=True, blank=True, help_text="Upper limit, in the kind's unit")
    hysteresis = models.FloatField(default=0.0, help_text="How far back inside the limit a value must "
                                   "come before the alert clears, in the kind's unit")
    raise_after_s = models.PositiveIntegerField(default=0, help_text="Seconds the condition must hold "
                                                "before the alert is raised")
    clear_after_s = models.PositiveIntegerField(default=0, help_text="Seconds the condition must be gone "
                                                "before the alert is cleared")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "alert_rules"
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def rule_kind(self) -> RuleKind:
        return rule_kind(self.kind)

    def applies_to(self, device_type: str, device_id: str, system_id: str | None) -> bool:
        """Whether this rule watches that device (its kind, the rule's narrowing)."""
        kinds = self.rule_kind.device_kinds
        return ((not kinds or device_type in kinds)
                and (not self.device_kind or device_type == self.device_kind)
                and (not self.system_id or system_id == self.system_id)
                and (not self.device_id or device_id == self.device_id))

    def clean(self) -> None:
        errors: dict[str, str] = {}
        kind = all_kinds().get(self.kind)
        if kind is None:
            raise ValidationError({"kind": f"unknown rule kind {self.kind!r}"})
        if self.device_kind and self.device_kind not in kind.device_kinds:
            allowed = ", ".join(kind.device_kinds) or "none (not about devices)"
            errors["device_kind"] = f"a {self.kind} rule watches {allowed}, not {self.device_kind}"
        for name in kind.requires:
            if getattr(self, name) is None:
                errors[name] = f"a {self.kind} rule needs “{name}” ({kind.unit})"
        if kind.either and all(getattr(self, name) is None for name in kind.either):
            errors["low"] = f"a {self.kind} rule needs “low”, “high” or both ({kind.unit})"
        if self.low is not None and self.high is not None and self.low >= self.high:
            errors["high"] = f"must be above low ({self.low:g})"
        if self.hysteresis is not None and self.hysteresis < 0:
            errors["hysteresis"] = "cannot be negative"
        if errors:
            raise ValidationError(errors)


class Alert(models.Model):
    """One raise of a rule for one subject, until it cleared: the history the owner sees.

    ``device_type``/``device_id`` name the subject: a device (inverter, battery_pack, meter), a
    system (grid lost), or the host (disk space). ``values`` are the readings that raised it,
    ``clear_values`` the ones that cleared it.
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    device_type = models.CharField(max_length=16, choices=SubjectType.choices)
    device_id = models.CharField(max_length=255)
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id", null=True,
                               blank=True, related_name="alerts")
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.ACTIVE)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    title = models.CharField(max_length=300, help_text="What happened, in one line")
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    values = models.JSONField(default=dict, help_text="The readings that raised the alert")
    clear_values = models.JSONField(null=True, blank=True, help_text="The readings that cleared it")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                        blank=True, related_name="+")

    class Meta:
        db_table = "alerts"
        ordering = ["-raised_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["rule", "device_type", "device_id"],
                                               condition=Q(state=AlertState.ACTIVE),
                                               name="uq_one_active_alert_per_rule_and_subject")]
        indexes = [
            models.Index(fields=["state", "-raised_at"], name="idx_alerts_state_raised"),
            models.Index(fields=["device_type", "device_id"], name="idx_alerts_subject"),
            models.Index(fields=["cleared_at"], name="idx_alerts_cleared_at"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.state})"

    @property
    def subject_label(self) -> str:
        return subject_label(self.device_type, self.device_id)

    def headline(self) -> str:
        """The raise title while active; the "back to normal" line once cleared."""
        if self.state == AlertState.CLEARED:
            return self.rule.rule_kind.title(self.subject_label, self.clear_values or {}, False)
        return self.title

    def summary(self) -> dict[str, Any]:
        """The fields a notification or the MQTT event carries."""
        return {"id": self.pk, "rule": self.rule.name, "kind": self.rule.kind,
                "device_type": self.device_type, "device_id": self.device_id, "system_id": self.system_id,
                "state": self.state,
                "severity": self.severity, "title": self.title,
                "raised_at": self.raised_at.isoformat(),
                "cleared_at": self.cleared_at.isoformat() if self.cleared_at else None,
                "values": self.values, "clear_values": self.clear_values}


class AlertWatch(models.Model):
    """Where a rule stands for one subject between evaluations, while anything is in progress.

    Without ``alert``: the condition has held since ``since`` and waits out the raise delay.
    With ``alert``: it is active, and ``since`` (if set) is when the condition went away, waiting
    out the clear delay. No row: nothing is happening.
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="watches")
    device_type = models.CharField(max_length=16, choices=SubjectType.choices)
    device_id = models.CharField(max_length=255)
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id", null=True,
                               blank=True, related_name="+")
    since = models.DateTimeField(null=True, blank=True)
    alert = models.OneToOneField(Alert, on_delete=models.CASCADE, null=True, blank=True, related_name="watch")

    class Meta:
        db_table = "alert_watches"
        constraints = [models.UniqueConstraint(fields=["rule", "device_type", "device_id"],
                                               name="uq_alert_watch_rule_subject")]
        indexes = [models.Index(fields=["device_type", "device_id"], name="idx_alert_watches_subject")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.device_type} {self.device_id}"


_SUBJECT_LABELS = dict(SubjectType.choices)


def subject_label(device_type: str, device_id: str) -> str:
    """"Battery pack jkbms_bank", "System system", "Host pi4"."""
    return f"{_SUBJECT_LABELS.get(device_type, device_type)} {device_id}"
