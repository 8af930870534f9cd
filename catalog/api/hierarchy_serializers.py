"""Output shapes of the hierarchy endpoint: the resource serializers plus children and live state."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.api import serializers as res

DEVICE_STATES = [
    ("online", "Answered at its last poll"),
    ("stale", "Answered before, but not recently"),
    ("offline", "Failing: several polls in a row without an answer"),
    ("unknown", "Not polled yet, or no telemetry available"),
]


class HierarchyQuerySerializer(serializers.Serializer):
    """Query parameters of the hierarchy endpoint."""

    cells = serializers.BooleanField(default=False, help_text="Include each battery unit's cells")


class PollingStatusSerializer(serializers.Serializer):
    """How polling a device is going."""

    state = serializers.ChoiceField(choices=DEVICE_STATES, help_text="Polling state of the device")
    last_seen = serializers.DateTimeField(allow_null=True, help_text="Last successful read (UTC)")
    last_error = serializers.CharField(allow_null=True, help_text="Message of the last failed read")
    consecutive_failures = serializers.IntegerField(help_text="Failed polls since the last success")
    active_adapter_id = serializers.CharField(allow_null=True,
                                              help_text="Adapter used at the last poll (after failover)")


@extend_schema_field({
    "type": "object",
    "nullable": True,
    "description": "The device's most recent sample: `ts` (UTC) and the sample's values by column "
                   "name; null when nothing has been read yet",
    "properties": {"ts": {"type": "string", "format": "date-time"}},
    "additionalProperties": True,
})
class LatestValuesField(serializers.Field):
    """The latest sample of a device, passed through as the telemetry selector gives it."""

    def to_representation(self, value: Any) -> Any:
        return value


def _status() -> PollingStatusSerializer:
    return PollingStatusSerializer(source="tree_status", read_only=True, help_text="Polling status")


def _latest() -> LatestValuesField:
    return LatestValuesField(source="tree_latest", read_only=True, allow_null=True, help_text="Latest values")


class InverterNodeSerializer(res.InverterSerializer):
    """An inverter with its live state."""

    status = _status()
    latest = _latest()

    class Meta(res.InverterSerializer.Meta):
        fields = [*res.InverterSerializer.Meta.fields, "status", "latest"]


class MeterNodeSerializer(res.MeterSerializer):
    """A meter with its live state."""

    status = _status()
    latest = _latest()

    class Meta(res.MeterSerializer.Meta):
        fields = [*res.MeterSerializer.Meta.fields, "status", "latest"]


class BatteryNodeSerializer(res.BatterySerializer):
    """A battery unit, with its cells when asked for."""

    cells = res.BatteryCellSerializer(source="tree_cells", many=True, read_only=True, allow_null=True,
                                      help_text="The unit's cells; null unless `?cells=1`")

    class Meta(res.BatterySerializer.Meta):
        fields = [*res.BatterySerializer.Meta.fields, "cells"]


class PackNodeSerializer(res.BatteryPackSerializer):
    """A battery pack with its adapters, units and live state."""

    status = _status()
    latest = _latest()
    adapters = res.BatteryPackAdapterSerializer(source="tree_adapters", many=True, read_only=True,
                                                help_text="Adapter links, by failover priority")
    batteries = BatteryNodeSerializer(source="tree_batteries", many=True, read_only=True,
                                      help_text="Battery units, by index")

    class Meta(res.BatteryPackSerializer.Meta):
        fields = [*res.BatteryPackSerializer.Meta.fields, "status", "latest", "adapters", "batteries"]


class InverterArrayNodeSerializer(res.InverterArraySerializer):
    """An inverter array with its inverters and array-level meters."""

    inverters = InverterNodeSerializer(source="tree_inverters", many=True, read_only=True,
                                       help_text="Inverters of the array")
    meters = MeterNodeSerializer(source="tree_meters", many=True, read_only=True,
                                 help_text="Meters on this array")

    class Meta(res.InverterArraySerializer.Meta):
        fields = [*res.InverterArraySerializer.Meta.fields, "inverters", "meters"]


class BatteryArrayNodeSerializer(res.BatteryArraySerializer):
    """A battery array with its packs."""

    attached_array_id = serializers.CharField(
        source="tree_attached_array_id", read_only=True, allow_null=True,
        help_text="The inverter array it is attached to now; null when detached")
    packs = PackNodeSerializer(source="tree_packs", many=True, read_only=True,
                               help_text="Battery packs of the array")

    class Meta(res.BatteryArraySerializer.Meta):
        fields = [*res.BatteryArraySerializer.Meta.fields, "attached_array_id", "packs"]


class SystemTreeSerializer(res.SystemSerializer):
    """A system with everything under it."""

    arrays = InverterArrayNodeSerializer(source="tree_arrays", many=True, read_only=True,
                                         help_text="Inverter arrays")
    battery_arrays = BatteryArrayNodeSerializer(source="tree_battery_arrays", many=True, read_only=True,
                                                help_text="Battery arrays")
    meters = MeterNodeSerializer(source="tree_meters", many=True, read_only=True,
                                 help_text="System-level meters (not on an array)")
    attachments = res.BatteryArrayAttachmentSerializer(
        source="tree_attachments", many=True, read_only=True,
        help_text="Battery array ↔ inverter array attachments, current and past")

    class Meta(res.SystemSerializer.Meta):
        fields = [*res.SystemSerializer.Meta.fields, "arrays", "battery_arrays", "meters", "attachments"]
