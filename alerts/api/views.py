"""Alert endpoints: alerts (list, filter, acknowledge) and the rules that raise them."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from alerts import services
from alerts.api import filters, serializers
from alerts.choices import AlertState
from alerts.models import Alert, AlertRule
from solarmon.api.viewsets import ApiModelViewSet, ApiReadOnlyViewSet


def active_first(queryset: QuerySet[Alert]) -> QuerySet[Alert]:
    active = Case(When(state=AlertState.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.order_by(active, "-raised_at", "-id")


class AlertViewSet(ApiReadOnlyViewSet):
    """Alerts, active first, then the history newest first. `values` are the readings that raised an
    alert, `clear_values` those that cleared it. Any logged-in user may acknowledge an alert."""

    http_method_names = ["get", "post", "options"]
    queryset = active_first(Alert.objects.select_related("rule", "system", "acknowledged_by"))
    serializer_class = serializers.AlertSerializer
    filterset_class = filters.AlertFilterSet
    search_fields = ["title", "device_id"]
    ordering_fields = ["raised_at", "cleared_at", "state", "severity"]

    # Acknowledging says "I have seen it"; it changes no configuration, so readers may do it too.
    @extend_schema(request=None, responses=serializers.AlertSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Record that you have seen this alert (a second acknowledgement changes nothing)."""
        alert = services.alert_acknowledge(self.get_object(), request.user)
        return Response(self.get_serializer(alert).data)


class AlertRuleViewSet(ApiModelViewSet):
    """Alert rules. `low`, `high` and `hysteresis` are in the kind's `unit`. Default rules (with a
    `key`) can be edited and disabled; deleting one answers 400."""

    queryset = AlertRule.objects.select_related("system")
    serializer_class = serializers.AlertRuleSerializer
    filterset_class = filters.AlertRuleFilterSet
    search_fields = ["name", "device_id"]
    ordering_fields = ["kind", "name", "id"]

    def perform_destroy(self, instance: AlertRule) -> None:
        services.rule_delete(instance)
