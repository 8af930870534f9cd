"""Serializers of discovered devices, port probes and discovery runs. Field names are the columns."""

from __future__ import annotations

from rest_framework import serializers

from discovery.models import DeviceDiscovery, PortProbe


class DiscoveredDeviceSerializer(serializers.ModelSerializer):
    """A discovered device (read-only: scans write rows; approve and reject change status)."""

    adapter_id = serializers.CharField(source="adapter.pk", read_only=True, allow_null=True, default=None,
                                       help_text="The adapter created for it; empty until configured")

    class Meta:
        model = DeviceDiscovery
        fields = ["device_id", "device_type", "serial_number", "model", "port", "last_known_port",
                  "port_history", "adapter_config", "status", "failure_count", "next_retry_time",
                  "last_error", "first_discovered", "last_seen", "discovery_timestamp",
                  "is_auto_discovered", "device_kind", "catalog_device_id", "adapter_id",
                  "collector", "created_at", "updated_at"]
        read_only_fields = fields


class PortProbeSerializer(serializers.ModelSerializer):
    """The last probe result of one serial port."""

    class Meta:
        model = PortProbe
        fields = ["id", "collector", "port", "last_result", "detail", "strikes", "device_id", "last_probe_at",
                  "next_probe_at"]
        read_only_fields = fields


class RunRequestSerializer(serializers.Serializer):
    """Options of a discovery run started through the API."""

    ports = serializers.ListField(
        child=serializers.RegexField(r"^/dev/[^\x00]*$", max_length=255), required=False, max_length=32,
        help_text="Only these ports (globs under /dev/, e.g. /dev/ttyUSB*); default: every port")
    wait = serializers.BooleanField(default=False, help_text="Run now and answer with the report "
                                    "(else the run is queued for the worker)")


class ReportLineSerializer(serializers.Serializer):
    port = serializers.CharField()
    answered = serializers.CharField(help_text="The adapter type and model that answered, or silent, "
                                     "garbage, unrecognized, busy")
    device_id = serializers.CharField()
    serial_number = serializers.CharField()
    action = serializers.CharField(help_text="created, pending approval, adopted, rebound, verified, "
                                   "skipped in use/busy/backoff, silent, garbage, unrecognized, rejected, "
                                   "disabled, missing")
    detail = serializers.CharField()


class RunReportSerializer(serializers.Serializer):
    """What a discovery run did, port by port."""

    started_at = serializers.DateTimeField()
    skipped_reason = serializers.CharField(help_text="Why the run did not happen (another run was on)")
    lines = ReportLineSerializer(many=True)
