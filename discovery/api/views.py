"""Discovery endpoints: discovered devices (approve, reject, run now) and port probe results."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from discovery import services
from discovery.api import serializers
from discovery.models import DeviceDiscovery, PortProbe
from solarmon.api.viewsets import ApiReadOnlyViewSet


class DiscoveredDeviceViewSet(ApiReadOnlyViewSet):
    """Devices found on serial ports. Staff approve (configure) or reject (ignore) them."""

    http_method_names = ["get", "post", "options"]
    queryset = DeviceDiscovery.objects.select_related("adapter")
    serializer_class = serializers.DiscoveredDeviceSerializer
    filterset_fields = ["status", "device_type", "serial_number", "is_auto_discovered"]
    search_fields = ["device_id", "serial_number", "port", "model"]
    ordering_fields = ["device_id", "status", "last_seen", "discovery_timestamp"]
    lookup_url_kwarg = "device_id"

    @extend_schema(request=None, responses=serializers.DiscoveredDeviceSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, device_id: str | None = None) -> Response:
        """Configure a pending device (catalog entry + adapter), or re-enable a rejected or disabled one."""
        row = services.approve_device(self.get_object())
        return Response(self.get_serializer(row).data)

    @extend_schema(request=None, responses=serializers.DiscoveredDeviceSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, device_id: str | None = None) -> Response:
        """Ignore this device in every scan from now on (its adapter, if any, is switched off)."""
        row = services.reject_device(self.get_object())
        return Response(self.get_serializer(row).data)

    @extend_schema(request=serializers.RunRequestSerializer,
                   responses={200: serializers.RunReportSerializer,
                              202: OpenApiResponse(description="Queued for the worker"),
                              409: serializers.RunReportSerializer})
    @action(detail=False, methods=["post"])
    def run(self, request: Request) -> Response:
        """Run discovery now: ``wait`` answers with the report, otherwise the run is queued.

        Ports that were silent or spoke garbage recently keep waiting (``discover --once`` probes them).
        """
        from discovery.tasks import dispatch_discovery, run_discovery_once

        options = serializers.RunRequestSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        if not options.validated_data["wait"]:
            dispatch_discovery.delay()
            return Response({"detail": "discovery queued"}, status=status.HTTP_202_ACCEPTED)
        report = run_discovery_once(options.validated_data.get("ports"))
        code = status.HTTP_409_CONFLICT if report.skipped_reason else status.HTTP_200_OK
        return Response(serializers.RunReportSerializer(report.as_dict()).data, status=code)


class PortProbeViewSet(ApiReadOnlyViewSet):
    """Serial ports discovery has probed: what each answered last and when it is probed again."""

    queryset = PortProbe.objects.all()
    serializer_class = serializers.PortProbeSerializer
    filterset_fields = ["last_result"]
    ordering_fields = ["port", "last_probe_at"]
