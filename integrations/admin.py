"""The MQTT settings page and notification channels. Secrets (the MQTT password, channel URLs)
are write-only: left empty, a field keeps the stored value."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from integrations.models import (
    MqttClientStatus,
    MqttPackOption,
    MqttSettings,
    NotificationChannel,
    NotificationDelivery,
)


class MqttSettingsForm(forms.ModelForm):
    """Never renders the stored password; an empty field keeps it, ``clear_password`` removes it."""

    password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                               help_text="Leave empty to keep the stored password")
    clear_password = forms.BooleanField(required=False, help_text="Remove the stored password")

    class Meta:
        model = MqttSettings
        fields = ["enabled", "broker_url", "username", "password", "client_id", "base_topic",
                  "discovery_prefix", "discovery_enabled", "retain", "qos", "tls_ca_file", "legacy_ids"]

    def clean_password(self) -> str:
        given: str = self.cleaned_data.get("password") or ""
        return given or (self.instance.password if self.instance.pk else "")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("clear_password"):
            data["password"] = ""
        return data


@admin.register(MqttSettings)
class MqttSettingsAdmin(admin.ModelAdmin):
    """One row; it cannot be added twice."""

    form = MqttSettingsForm
    list_display = ("__str__", "base_topic", "discovery_enabled", "legacy_ids", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not MqttSettings.objects.exists()


@admin.register(MqttClientStatus)
class MqttClientStatusAdmin(admin.ModelAdmin):
    """Read-only: what each worker process's MQTT client reports (connection, counts, last error)."""

    list_display = ("client_id", "connected", "broker", "protocol", "published", "dropped", "last_error",
                    "updated_at")
    list_filter = ("connected",)
    search_fields = ("client_id", "host")
    readonly_fields = [f.name for f in MqttClientStatus._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MqttPackOption)
class MqttPackOptionAdmin(admin.ModelAdmin):
    """Whether a pack's cells become Home Assistant sensors."""

    list_display = ("pack", "publish_cells")
    list_select_related = ("pack",)
    autocomplete_fields = ()


class NotificationChannelForm(forms.ModelForm):
    """Never renders the stored URL (it holds tokens); an empty field keeps it."""

    url = forms.CharField(required=False, max_length=2000, widget=forms.PasswordInput(render_value=False),
                          help_text="Apprise URL, e.g. ntfys://token@ntfy.sh/topic, "
                          "tgram://bot-token/chat-id, pover://user@token, gotify://host/token, "
                          "json://host:port/path. Leave empty to keep the stored one.")

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "url", "email_to", "enabled", "min_severity", "send_cleared"]

    def clean_url(self) -> str:
        given: str = self.cleaned_data.get("url") or ""
        return given or (self.instance.url if self.instance.pk else "")


class DeliveryInline(admin.TabularInline):
    model = NotificationDelivery
    fields = ("alert", "event", "status", "attempts", "last_error", "created_at", "sent_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("alert")[:20]


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    """Where alerts go, with the last delivery's error; the URL itself is never shown."""

    form = NotificationChannelForm
    list_display = ("name", "kind", "url_display", "email_to", "enabled", "min_severity", "last_sent_at",
                    "last_error_at", "last_error")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    readonly_fields = ("url_display", "last_sent_at", "last_error", "last_error_at")
    fields = ("name", "kind", "url", "url_display", "email_to", "enabled", "min_severity", "send_cleared",
              "last_sent_at", "last_error", "last_error_at")
