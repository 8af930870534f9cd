"""The MQTT settings page. The password field is write-only: left empty, it keeps the stored one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from integrations.models import MqttSettings


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
