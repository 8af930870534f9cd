"""``/api/integrations/mqtt/``: the MQTT settings (one object), client status, per-pack options."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.api.serializers import (
    MqttClientStatusSerializer,
    MqttPackOptionSerializer,
    MqttSettingsSerializer,
)
from integrations.models import MqttClientStatus, MqttPackOption, MqttSettings
from solarmon.api.viewsets import ApiModelViewSet, ApiReadOnlyViewSet, ApiView


class MqttSettingsView(ApiView):
    """The MQTT publishing settings. Staff can change them; the password is never returned.

    Fields overridden by `SOLARMON_MQTT_URL`, `SOLARMON_MQTT_BASE_TOPIC` or
    `SOLARMON_MQTT_DISCOVERY_PREFIX` are listed in `overridden`; `effective` is what the
    publisher uses.
    """

    http_method_names = ["get", "put", "patch", "options"]
    serializer_class = MqttSettingsSerializer
    pagination_class = None

    @extend_schema(operation_id="mqtt_settings_retrieve", tags=["integrations"])
    def get(self, request: Request) -> Response:
        return Response(MqttSettingsSerializer(MqttSettings.current()).data)

    @extend_schema(operation_id="mqtt_settings_update", tags=["integrations"])
    def put(self, request: Request) -> Response:
        return self._save(request, partial=False)

    @extend_schema(operation_id="mqtt_settings_partial_update", tags=["integrations"])
    def patch(self, request: Request) -> Response:
        return self._save(request, partial=True)

    def _save(self, request: Request, partial: bool) -> Response:
        serializer = MqttSettingsSerializer(MqttSettings.current(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        row = serializer.save()
        return Response(MqttSettingsSerializer(row).data)


class MqttClientStatusViewSet(ApiReadOnlyViewSet):
    """Each worker process's MQTT client: connected or not, messages published and dropped, last error."""

    queryset = MqttClientStatus.objects.all()
    serializer_class = MqttClientStatusSerializer
    ordering_fields = ["updated_at", "client_id"]


class MqttPackOptionViewSet(ApiModelViewSet):
    """Per-pack MQTT options: whether its cells become Home Assistant sensors (empty = automatic)."""

    queryset = MqttPackOption.objects.select_related("pack")
    serializer_class = MqttPackOptionSerializer
    ordering_fields = ["pack"]
