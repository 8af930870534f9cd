"""MQTT settings and client status as the API shows them. The password is write-only."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from integrations.models import MqttClientStatus, MqttPackOption, MqttSettings
from integrations.mqtt.config import effective_config, overrides, validate_topic_root


class MqttSettingsSerializer(serializers.ModelSerializer):
    """The stored settings, plus which fields the environment overrides and what is in force.

    ``password`` is write-only: it is never returned; an omitted or empty password keeps the
    stored one, ``clear_password`` removes it. ``password_set`` says whether one is stored.
    """

    password = serializers.CharField(write_only=True, required=False, allow_blank=True,
                                     style={"input_type": "password"}, max_length=255)
    clear_password = serializers.BooleanField(write_only=True, required=False, default=False)
    password_set = serializers.SerializerMethodField()
    overridden = serializers.SerializerMethodField()
    effective = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                           help_text="Last change; empty until the settings are first saved")

    class Meta:
        model = MqttSettings
        fields = ["enabled", "broker_url", "username", "password", "clear_password", "password_set",
                  "client_id", "base_topic", "discovery_prefix", "discovery_enabled", "retain", "qos",
                  "tls_ca_file", "legacy_ids", "overridden", "effective", "updated_at"]
        read_only_fields = ["updated_at"]

    def get_password_set(self, obj: MqttSettings) -> bool:
        return bool(obj.password)

    def get_overridden(self, obj: MqttSettings) -> dict[str, str]:
        """Field → the environment variable that overrides it."""
        return overrides()

    def get_effective(self, obj: MqttSettings) -> dict[str, Any]:
        """What the publisher uses: broker (without credentials), topics, on/off."""
        try:
            cfg = effective_config(obj)
        except ValueError as exc:
            return {"error": str(exc)}
        return {"enabled": cfg.enabled, "broker": cfg.broker, "base_topic": cfg.base_topic,
                "discovery_prefix": cfg.discovery_prefix, "username_set": bool(cfg.username)}

    def validate_base_topic(self, value: str) -> str:
        return self._topic(value, "base topic")

    def validate_discovery_prefix(self, value: str) -> str:
        return self._topic(value, "discovery prefix")

    def _topic(self, value: str, what: str) -> str:
        try:
            return validate_topic_root(value, what)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance or MqttSettings()
        if attrs.pop("clear_password", False):
            attrs["password"] = ""
        elif not attrs.get("password"):
            attrs.pop("password", None)
        fields = MqttSettings._meta.concrete_fields
        merged = MqttSettings(**{f.name: getattr(instance, f.name) for f in fields})
        for key, value in attrs.items():
            setattr(merged, key, value)
        from django.core.exceptions import ValidationError

        try:
            merged.full_clean(exclude=["id"])
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


class MqttClientStatusSerializer(serializers.ModelSerializer):
    """One worker process's client: connection, counters, last error."""

    running = serializers.SerializerMethodField()

    class Meta:
        model = MqttClientStatus
        fields = ["client_id", "host", "pid", "broker", "connected", "protocol", "published", "dropped",
                  "last_error", "last_error_at", "connected_since", "started_at", "updated_at", "running"]
        read_only_fields = fields

    def get_running(self, obj: MqttClientStatus) -> bool:
        """Whether the process reported recently (it writes at least once a minute)."""
        from django.utils import timezone

        from integrations.selectors import is_running

        return is_running(obj, timezone.now())


class MqttPackOptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = MqttPackOption
        fields = ["pack", "publish_cells"]
