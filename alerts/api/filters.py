"""Query filters of alerts and alert rules (django-filter). Parameter names are field names."""

from __future__ import annotations

import django_filters as df

from alerts.choices import AlertState, Severity, SubjectType
from alerts.kinds import kind_choices
from alerts.models import Alert, AlertRule


class AlertFilterSet(df.FilterSet):
    state = df.ChoiceFilter(choices=AlertState.choices, label="Only active or only cleared alerts")
    device_type = df.ChoiceFilter(choices=SubjectType.choices, label="Only alerts about this kind of subject")
    device_id = df.CharFilter(label="Only alerts about this device (its id)")
    rule = df.NumberFilter(field_name="rule_id", label="Only alerts of this rule (its id)")
    kind = df.ChoiceFilter(field_name="rule__kind", choices=kind_choices,
                           label="Only alerts of this rule kind")
    system_id = df.CharFilter(field_name="system_id", label="Only alerts of this system (its id)")
    severity = df.ChoiceFilter(choices=Severity.choices, label="Only alerts of this severity")
    acknowledged = df.BooleanFilter(field_name="acknowledged_at", lookup_expr="isnull", exclude=True,
                                    label="Only acknowledged (true) or unacknowledged (false) alerts")

    class Meta:
        model = Alert
        fields: list[str] = []


class AlertRuleFilterSet(df.FilterSet):
    kind = df.ChoiceFilter(choices=kind_choices, label="Only rules of this kind")
    enabled = df.BooleanFilter(label="Only enabled (true) or disabled (false) rules")

    class Meta:
        model = AlertRule
        fields: list[str] = []
