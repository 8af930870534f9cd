"""Admin pages of discovered devices and port probes, with approve and reject actions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from discovery import services
from discovery.models import DeviceDiscovery, DiscoveryConfig, PortProbe


@admin.register(DeviceDiscovery)
class DeviceDiscoveryAdmin(admin.ModelAdmin):
    """Discovered devices. Rows are written by scans; people approve or reject them."""

    list_display = ("device_id", "device_type", "serial_number", "model", "port", "status",
                    "failure_count", "last_seen", "is_auto_discovered", "adapter")
    list_filter = ("status", "device_type", "is_auto_discovered")
    search_fields = ("device_id", "serial_number", "port", "model")
    list_select_related = ("adapter",)
    readonly_fields = ("device_id", "device_type", "serial_number", "model", "port", "last_known_port",
                       "port_history", "adapter_config", "status", "failure_count", "next_retry_time",
                       "last_error", "first_discovered", "last_seen", "discovery_timestamp",
                       "is_auto_discovered", "device_kind", "catalog_device_id", "adapter",
                       "created_at", "updated_at")
    actions = ("approve", "reject")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from scans

    @admin.action(description="Approve: configure the selected devices (or re-enable them)")
    def approve(self, request: HttpRequest, queryset: QuerySet[DeviceDiscovery]) -> None:
        done = 0
        for row in queryset:
            try:
                services.approve_device(row)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{row.device_id}: {'; '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, f"{done} device(s) approved.", messages.SUCCESS)

    @admin.action(description="Reject: ignore the selected devices in every scan")
    def reject(self, request: HttpRequest, queryset: QuerySet[DeviceDiscovery]) -> None:
        for row in queryset:
            services.reject_device(row)
        self.message_user(request, f"{queryset.count()} device(s) rejected.", messages.SUCCESS)


@admin.register(PortProbe)
class PortProbeAdmin(admin.ModelAdmin):
    """What each serial port answered last, and when it is probed again."""

    list_display = ("port", "last_result", "device_id", "strikes", "last_probe_at", "next_probe_at")
    list_filter = ("last_result",)
    search_fields = ("port", "device_id")
    readonly_fields = ("port", "last_result", "detail", "strikes", "device_id", "last_probe_at",
                       "next_probe_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DiscoveryConfig)
class DiscoveryConfigAdmin(admin.ModelAdmin):
    """The stored discovery settings (one row); an empty field uses the setting's default, and a
    SOLARMON_DISCOVERY_* environment variable wins over what is stored here."""

    list_display = ("__str__", "enabled", "interval_s", "probe_order", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not DiscoveryConfig.objects.exists()
