"""Notification channels: the URL is write-only; `url_display` and the last error are shown."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework import serializers

from integrations.models import NotificationChannel
from integrations.notifications import channel_save
from solarmon.api.serializers import ServiceModelSerializer
from solarmon.api.viewsets import ApiModelViewSet


class NotificationChannelSerializer(ServiceModelSerializer):
    """A channel. `url` is never returned; left out of an update, the stored one is kept."""

    url = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=2000,
                                help_text="Apprise URL (ntfy, Telegram, Pushover, Gotify, json://…); "
                                "write-only")
    url_display = serializers.CharField(read_only=True, help_text="The URL without anything secret")

    class Meta:
        model = NotificationChannel
        fields = ["id", "name", "kind", "url", "url_display", "email_to", "enabled", "min_severity",
                  "send_cleared", "last_sent_at", "last_error", "last_error_at", "created_at", "updated_at"]
        read_only_fields = ["id", "last_sent_at", "last_error", "last_error_at", "created_at", "updated_at"]
        extra_kwargs: dict[str, Any] = {"name": {"help_text": "Display name"}}

    def update(self, instance: Model, validated_data: dict[str, Any]) -> Model:
        if not validated_data.get("url"):
            validated_data.pop("url", None)  # write-only: empty keeps the stored URL
        return super().update(instance, validated_data)

    def save_instance(self, instance: Model) -> Model:
        assert isinstance(instance, NotificationChannel)
        return channel_save(instance)


class NotificationChannelViewSet(ApiModelViewSet):
    """Where alerts are sent: push services and webhooks (Apprise URLs) or e-mail addresses."""

    queryset = NotificationChannel.objects.all()
    serializer_class = NotificationChannelSerializer
    filterset_fields = ["kind", "enabled"]
    search_fields = ["name"]
    ordering_fields = ["name", "id"]
