"""Serializers of alert rules and alerts. Validation is the model's, run by the services."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.choices import SubjectType
from alerts.models import Alert, AlertRule
from alerts.services import rule_save
from solarmon.api.serializers import ServiceModelSerializer
from telemetry.choices import DeviceKind


@extend_schema_field({"type": "string", "pattern": "^({})$".format("|".join(DeviceKind.values)),
                      "description": "Only devices of this kind: {} (empty = every kind the rule "
                      "applies to)".format(", ".join(DeviceKind.values))})
class DeviceKindField(serializers.ChoiceField):
    """The device kind a rule is narrowed to. Its schema is a pattern, not an enum: the same values
    form other apps' ``device_type`` enums, and a second name for them would be ambiguous."""


@extend_schema_field({"type": "string", "pattern": "^({})$".format("|".join(SubjectType.values)),
                      "description": "What the alert is about: {}".format(", ".join(SubjectType.values))})
class SubjectTypeField(serializers.CharField):
    """An alert's subject type; a pattern in the schema for the reason given above."""


class AlertRuleSerializer(ServiceModelSerializer):
    """A rule: its kind, limits (in the kind's unit), delays, and which devices it watches."""

    device_kind = DeviceKindField(choices=[("", "Any"), *DeviceKind.choices], required=False,
                                  allow_blank=True)
    unit = serializers.SerializerMethodField(help_text="Unit of low, high and hysteresis")

    class Meta:
        model = AlertRule
        fields = ["id", "key", "name", "kind", "unit", "enabled", "severity", "device_kind", "system_id",
                  "device_id", "low", "high", "hysteresis", "raise_after_s", "clear_after_s", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "key", "created_at", "updated_at"]
        extra_kwargs = {"system_id": {"help_text": "Only this system (empty = every system)"},
                        "name": {"help_text": "Display name"}}

    def get_unit(self, rule: AlertRule) -> str:
        return rule.rule_kind.unit if rule.kind else ""

    def save_instance(self, instance: Model) -> Model:
        assert isinstance(instance, AlertRule)
        return rule_save(instance)


class AlertSerializer(serializers.ModelSerializer):
    """An alert: active while its condition holds, cleared once it ended; acknowledged by a user."""

    device_type = SubjectTypeField(read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True, help_text="The rule's name")
    kind = serializers.CharField(source="rule.kind", read_only=True, help_text="The rule's kind")
    system_id = serializers.CharField(source="system.pk", read_only=True, allow_null=True, default=None,
                                      help_text="The system the subject belongs to (empty for the host)")
    headline = serializers.CharField(read_only=True, help_text="The title, or the clearing line once cleared")
    acknowledged_by = serializers.CharField(source="acknowledged_by.get_username", read_only=True,
                                            allow_null=True, default=None, help_text="Who acknowledged it")

    class Meta:
        model = Alert
        fields = ["id", "rule", "rule_name", "kind", "device_type", "device_id", "system_id", "state",
                  "severity", "title", "headline", "raised_at", "cleared_at", "values", "clear_values",
                  "acknowledged_at", "acknowledged_by"]
        read_only_fields = fields
        extra_kwargs: dict[str, Any] = {
            "rule": {"help_text": "The rule that raised it (its id)"},
            "device_id": {"help_text": "The device's (or system's, or host's) id"},
            "state": {"help_text": "active while the condition holds, cleared once it ended"},
            "severity": {"help_text": "warning or critical"},
            "raised_at": {"help_text": "When it was raised"},
            "cleared_at": {"help_text": "When it cleared; empty while active"},
            "acknowledged_at": {"help_text": "When a user acknowledged it"},
        }
