"""Viewsets of the catalog resources: declarations only (queryset, serializer, filters, ordering)."""

from __future__ import annotations

from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import models as m
from catalog.api import connection, filters, serializers
from solarmon.api.viewsets import ApiModelViewSet, ApiReadOnlyViewSet


class SystemViewSet(ApiModelViewSet):
    """Systems: whole installations, the top of the hierarchy. Deleting one deletes its whole tree."""

    queryset = m.System.objects.all()
    serializer_class = serializers.SystemSerializer
    filterset_class = filters.SystemFilterSet
    search_fields = ["system_id", "name", "description"]
    ordering_fields = ["system_id", "name", "created_at"]
    lookup_url_kwarg = "system_id"


class InverterArrayViewSet(ApiModelViewSet):
    """Inverter arrays: groups of inverters within a system."""

    queryset = m.InverterArray.objects.all()
    serializer_class = serializers.InverterArraySerializer
    filterset_class = filters.InverterArrayFilterSet
    search_fields = ["array_id", "name"]
    ordering_fields = ["array_id", "system_id", "name", "created_at"]
    lookup_url_kwarg = "array_id"


class InverterViewSet(ApiModelViewSet):
    """Inverters. `system_id` is filled from the array when left out, and must match it."""

    queryset = m.Inverter.objects.all()
    serializer_class = serializers.InverterSerializer
    filterset_class = filters.InverterFilterSet
    search_fields = ["inverter_id", "name", "model", "serial_number", "vendor"]
    ordering_fields = ["inverter_id", "array_id", "system_id", "name", "created_at"]
    lookup_url_kwarg = "inverter_id"


class BatteryArrayViewSet(ApiModelViewSet):
    """Battery arrays: groups of battery packs within a system."""

    queryset = m.BatteryArray.objects.all()
    serializer_class = serializers.BatteryArraySerializer
    filterset_class = filters.BatteryArrayFilterSet
    search_fields = ["battery_array_id", "name"]
    ordering_fields = ["battery_array_id", "system_id", "name", "created_at"]
    lookup_url_kwarg = "battery_array_id"


class BatteryPackViewSet(ApiModelViewSet):
    """Battery packs (banks). `system_id` is filled from the battery array when left out."""

    queryset = m.BatteryPack.objects.all()
    serializer_class = serializers.BatteryPackSerializer
    filterset_class = filters.BatteryPackFilterSet
    search_fields = ["pack_id", "name", "chemistry"]
    ordering_fields = ["pack_id", "battery_array_id", "system_id", "name", "created_at"]
    lookup_url_kwarg = "pack_id"


class BatteryViewSet(ApiModelViewSet):
    """Battery units of packs. Ancestor ids are filled from the pack when left out."""

    queryset = m.Battery.objects.all()
    serializer_class = serializers.BatterySerializer
    filterset_class = filters.BatteryFilterSet
    search_fields = ["battery_id", "serial_number", "model"]
    ordering_fields = ["battery_id", "pack_id", "battery_index", "system_id", "created_at"]
    lookup_url_kwarg = "battery_id"


class BatteryCellViewSet(ApiModelViewSet):
    """Cells of battery units. Ancestor ids are filled from the battery when left out."""

    queryset = m.BatteryCell.objects.all()
    serializer_class = serializers.BatteryCellSerializer
    filterset_class = filters.BatteryCellFilterSet
    search_fields = ["cell_id"]
    ordering_fields = ["cell_id", "battery_id", "cell_index", "pack_id", "system_id", "created_at"]
    lookup_url_kwarg = "cell_id"


class MeterViewSet(ApiModelViewSet):
    """Energy meters, at system level (`array_id` empty) or on one inverter array."""

    queryset = m.Meter.objects.all()
    serializer_class = serializers.MeterSerializer
    filterset_class = filters.MeterFilterSet
    search_fields = ["meter_id", "name", "model", "serial_number"]
    ordering_fields = ["meter_id", "system_id", "array_id", "name", "type", "created_at"]
    lookup_url_kwarg = "meter_id"


class AdapterTypeViewSet(ApiReadOnlyViewSet):
    """Supported adapter types with their config JSON Schema and defaults. Read-only.

    The schema's ``title`` and ``description`` label a form's fields, ``x-transports`` says
    which transports use a field: the admin's adapter form is built from exactly this.
    """

    queryset = m.AdapterType.objects.all()
    serializer_class = serializers.AdapterTypeSerializer
    filterset_class = filters.AdapterTypeFilterSet
    search_fields = ["adapter_type", "name", "description"]
    ordering_fields = ["adapter_type", "device_category", "name"]
    lookup_url_kwarg = "adapter_type"
    http_method_names = ["get", "post", "options"]

    @connection.TEST_SCHEMA
    @action(detail=True, methods=["post"], url_path="test", permission_classes=connection.STAFF_ONLY,
            filter_backends=[], pagination_class=None)
    def test(self, request: Request, adapter_type: str) -> Response:
        """Test a connection with a config that is not saved yet."""
        body = connection.ConnectionTestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return connection.run_test(self.get_object().adapter_type, dict(body.validated_data["config"]))

    @connection.PORTS_SCHEMA
    @action(detail=False, methods=["get"], url_path="serial-ports", filter_backends=[],
            pagination_class=None)
    def serial_ports(self, request: Request) -> Response:
        """Serial ports to offer for an adapter's serial_port."""
        return connection.serial_ports_response()


class AdapterViewSet(ApiModelViewSet):
    """Adapter instances. `config_json` is validated against the type's JSON Schema."""

    queryset = m.Adapter.objects.all()
    serializer_class = serializers.AdapterSerializer
    filterset_class = filters.AdapterFilterSet
    search_fields = ["adapter_id", "name", "device_id"]
    ordering_fields = ["adapter_id", "adapter_type", "device_category", "device_id", "priority", "created_at"]
    lookup_url_kwarg = "adapter_id"

    @connection.TEST_SCHEMA
    @action(detail=True, methods=["post"], url_path="test", permission_classes=connection.STAFF_ONLY,
            filter_backends=[], pagination_class=None)
    def test(self, request: Request, adapter_id: str) -> Response:
        """Test this adapter's connection (its stored config, with any ``config`` keys sent overriding)."""
        body = connection.ConnectionTestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        adapter = self.get_object()
        config = {**(adapter.config_json or {}), **body.validated_data["config"]}
        return connection.run_test(adapter.adapter_type_id, config)


class BatteryPackAdapterViewSet(ApiModelViewSet):
    """Links between battery packs and their adapters; lower priority is tried first on failover."""

    queryset = m.BatteryPackAdapter.objects.all()
    serializer_class = serializers.BatteryPackAdapterSerializer
    filterset_class = filters.BatteryPackAdapterFilterSet
    ordering_fields = ["id", "pack_id", "adapter_id", "priority", "created_at"]


class BatteryArrayAttachmentViewSet(ApiModelViewSet):
    """Which inverter array each battery array feeds, with history.

    At most one active attachment (no `detached_at`) per battery array and per inverter array:
    detach the current one (PATCH `detached_at`) before attaching anew.
    """

    queryset = m.BatteryArrayAttachment.objects.all()
    serializer_class = serializers.BatteryArrayAttachmentSerializer
    filterset_class = filters.BatteryArrayAttachmentFilterSet
    ordering_fields = ["id", "battery_array_id", "inverter_array_id", "attached_since", "detached_at"]


class CollectorViewSet(ApiModelViewSet):
    """Collectors: the hosts that poll devices, each with its serial ports and assigned adapters.

    Workers register themselves (`SOLARMON_COLLECTOR`, default the host name) and heartbeat;
    `state` is `down` once the heartbeat is older than `SOLARMON_COLLECTOR_DOWN_AFTER_S`.
    Assign an adapter with `PATCH /api/adapters/{id}/ {"collector": NAME}`. Creating one ahead
    of its worker lets adapters be assigned first; deleting one leaves its adapters unassigned.
    """

    queryset = m.Collector.objects.prefetch_related("adapters")
    serializer_class = serializers.CollectorSerializer
    search_fields = ["name", "host"]
    ordering_fields = ["name", "last_heartbeat", "created_at"]
    lookup_url_kwarg = "name"
