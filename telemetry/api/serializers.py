"""Serializers of telemetry endpoints: device status and live system state."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from telemetry.choices import DeviceState, GridSource
from telemetry.models import DeviceStatus
from telemetry.status import effective_state


class DeviceStatusSerializer(serializers.ModelSerializer[DeviceStatus]):
    """Polling health of one device. ``state`` is aged to now: old values read as stale."""

    state = serializers.SerializerMethodField()
    system_id = serializers.CharField(read_only=True, help_text="The system the device belongs to")

    class Meta:
        model = DeviceStatus
        fields = ["device_type", "device_id", "system_id", "state", "last_seen", "last_error",
                  "last_error_at", "consecutive_failures", "permanent_error", "next_poll_at",
                  "active_adapter_id", "last_duration_ms", "poll_interval_s", "collector", "missed_polls",
                  "last_missed_at", "last_missed_reason", "flagged_values", "last_flag"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(
        choices=DeviceState.choices, help_text="online, stale, offline or unknown, aged to now"))
    def get_state(self, obj: DeviceStatus) -> str:
        return effective_state(obj, timezone.now())


class LiveFlowSerializer(serializers.Serializer[Any]):
    ts = serializers.DateTimeField(allow_null=True, help_text="Time of the newest tick (UTC)")
    age_s = serializers.FloatField(allow_null=True, help_text="Seconds since that tick")
    live = serializers.BooleanField(help_text="False when the newest tick is too old to be shown as live")
    pv_power_w = serializers.IntegerField(allow_null=True, help_text="PV power, >= 0")
    load_power_w = serializers.IntegerField(allow_null=True, help_text="Load power, >= 0")
    grid_power_w = serializers.IntegerField(allow_null=True, help_text="Grid power, > 0 = importing")
    batt_power_w = serializers.IntegerField(allow_null=True, help_text="Battery power, > 0 = charging")
    batt_soc_pct = serializers.FloatField(allow_null=True, help_text="Battery state of charge, %")


class LiveArraySerializer(LiveFlowSerializer):
    array_id = serializers.CharField()
    inverters_reporting = serializers.IntegerField(allow_null=True)
    inverters_total = serializers.IntegerField(allow_null=True)


class LiveSystemSerializer(LiveFlowSerializer):
    system_id = serializers.CharField()
    grid_source = serializers.ChoiceField(choices=GridSource.choices, allow_null=True,
                                          help_text="meter: a system meter; inverters: their sum")
    arrays = LiveArraySerializer(many=True)
    devices = serializers.ListField(child=serializers.DictField(), help_text="Each device's status")

