"""Device status in the admin: which devices answer, which fail and why.

Sample tables have composite keys, which the admin cannot show; samples are read through
the API and the dashboard.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from telemetry.models import DeviceStatus
from telemetry.status import effective_state


@admin.register(DeviceStatus)
class DeviceStatusAdmin(admin.ModelAdmin):
    list_display = ("device_type", "device_id", "system", "state_now", "last_seen", "consecutive_failures",
                    "active_adapter_id", "last_error")
    list_filter = ("system", "device_type", "state")
    list_select_related = ("system",)
    search_fields = ("device_id", "last_error")
    readonly_fields = [f.name for f in DeviceStatus._meta.fields]

    @admin.display(description="state (now)")
    def state_now(self, obj: DeviceStatus) -> str:
        return effective_state(obj, timezone.now())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
