"""Admin: alert rules (editable; default rules cannot be deleted) and alerts (read-only, acknowledge)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from alerts import services
from alerts.kinds import all_kinds
from alerts.models import Alert, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Rules with their limits; the kinds and their units are described under the form."""

    list_display = ("name", "kind", "enabled", "severity", "device_kind", "system", "device_id", "low",
                    "high", "hysteresis", "raise_after_s", "clear_after_s")
    list_filter = ("kind", "enabled", "severity", "device_kind")
    list_select_related = ("system",)
    search_fields = ("name", "device_id")
    readonly_fields = ("key", "kinds_explained")
    fieldsets = (
        (None, {"fields": ("name", "kind", "enabled", "severity", "key")}),
        ("Which devices", {"fields": ("device_kind", "system", "device_id")}),
        ("Limits and delays", {"fields": ("low", "high", "hysteresis", "raise_after_s", "clear_after_s",
                                          "kinds_explained")}),
    )

    def save_model(self, request: HttpRequest, obj: AlertRule, form: Any, change: bool) -> None:
        services.rule_save(obj)

    @admin.display(description="Kinds")
    def kinds_explained(self, obj: AlertRule | None) -> str:
        return format_html_join("", "<p><b>{}</b> ({}): {}</p>", (
            (name, kind.unit or "no unit", kind.help) for name, kind in sorted(all_kinds().items())))

    def has_delete_permission(self, request: HttpRequest, obj: AlertRule | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.key)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        kept = queryset.filter(key__isnull=False).count()
        queryset.filter(key__isnull=True).delete()
        if kept:
            self.message_user(request, f"{kept} default rule(s) kept: disable them instead.",
                              messages.WARNING)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """The alert history; alerts are raised and cleared by solarmon, acknowledged by users."""

    list_display = ("title", "state", "severity", "device_type", "device_id", "raised_at", "cleared_at",
                    "acknowledged_at", "acknowledged_by")
    list_filter = ("state", "severity", "rule", "device_type")
    list_select_related = ("rule", "acknowledged_by")
    search_fields = ("title", "device_id")
    date_hierarchy = "raised_at"
    actions = ["acknowledge"]

    def get_readonly_fields(self, request: HttpRequest, obj: Alert | None = None) -> list[str]:
        return [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description="Acknowledge the selected alerts")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        for alert in queryset.filter(acknowledged_at__isnull=True):
            services.alert_acknowledge(alert, request.user)
