"""The Django admin is solarmon's configuration UI.

Inlines follow the hierarchy (system → arrays → inverters; battery array → packs →
batteries → cells; pack → adapters by priority). Every save goes through
``catalog.services.save_entity``, the same validation the API, YAML import and discovery
use. ``adapter_base`` rows are read-only: the registry owns them.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone

from catalog import models as m
from catalog.collectors import collector_state
from catalog.services import save_entity


class PrettyJSONWidget(forms.Textarea):
    """Shows JSON indented so adapter configs are readable and editable."""

    def format_value(self, value: Any) -> str:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return json.dumps(value, indent=2, sort_keys=True)


class ServiceSaveAdmin(admin.ModelAdmin):
    """Saves through the catalog service, so derived fields and back-links stay in step."""

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        save_entity(obj)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet,
                     change: bool) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            save_entity(obj)
        formset.save_m2m()


# ---- inlines ------------------------------------------------------------------------
class InverterArrayInline(admin.TabularInline):
    model = m.InverterArray
    extra = 0
    show_change_link = True
    fields = ("array_id", "name")


class BatteryArrayInline(admin.TabularInline):
    model = m.BatteryArray
    extra = 0
    show_change_link = True
    fields = ("battery_array_id", "name")


class MeterInline(admin.TabularInline):
    model = m.Meter
    extra = 0
    show_change_link = True
    fields = ("meter_id", "name", "type", "array", "adapter")
    fk_name = "system"


class InverterInline(admin.TabularInline):
    model = m.Inverter
    extra = 0
    show_change_link = True
    fields = ("inverter_id", "name", "model", "serial_number", "adapter")
    autocomplete_fields = ("adapter",)


class BatteryPackInline(admin.TabularInline):
    model = m.BatteryPack
    extra = 0
    show_change_link = True
    fields = ("pack_id", "name", "chemistry", "nominal_kwh")


class AttachmentInline(admin.TabularInline):
    """The attachment history of a battery array, newest first."""

    model = m.BatteryArrayAttachment
    extra = 0
    fields = ("inverter_array", "attached_since", "detached_at")


class BatteryInline(admin.TabularInline):
    model = m.Battery
    extra = 0
    show_change_link = True
    fields = ("battery_id", "battery_index", "serial_number", "model")


class PackAdapterInline(admin.TabularInline):
    model = m.BatteryPackAdapter
    extra = 0
    fields = ("adapter", "priority", "enabled")
    autocomplete_fields = ("adapter",)
    ordering = ("priority",)


class CellInline(admin.TabularInline):
    model = m.BatteryCell
    extra = 0
    fields = ("cell_id", "cell_index", "nominal_voltage")


# ---- model admins -------------------------------------------------------------------
@admin.register(m.System)
class SystemAdmin(ServiceSaveAdmin):
    list_display = ("system_id", "name", "timezone", "created_at")
    search_fields = ("system_id", "name", "description")
    inlines = (InverterArrayInline, BatteryArrayInline, MeterInline)


@admin.register(m.InverterArray)
class InverterArrayAdmin(ServiceSaveAdmin):
    list_display = ("array_id", "name", "system")
    list_filter = ("system",)
    list_select_related = ("system",)
    search_fields = ("array_id", "name")
    inlines = (InverterInline,)


@admin.register(m.Inverter)
class InverterAdmin(ServiceSaveAdmin):
    list_display = ("inverter_id", "name", "array", "system", "model", "serial_number", "adapter")
    list_filter = ("system", "array", "vendor", "phase_type")
    list_select_related = ("array", "system", "adapter")
    search_fields = ("inverter_id", "name", "serial_number", "model")
    autocomplete_fields = ("adapter",)


@admin.register(m.BatteryArray)
class BatteryArrayAdmin(ServiceSaveAdmin):
    list_display = ("battery_array_id", "name", "system")
    list_filter = ("system",)
    list_select_related = ("system",)
    search_fields = ("battery_array_id", "name")
    inlines = (BatteryPackInline, AttachmentInline)


@admin.register(m.BatteryPack)
class BatteryPackAdmin(ServiceSaveAdmin):
    list_display = ("pack_id", "name", "battery_array", "system", "chemistry", "nominal_kwh")
    list_filter = ("system", "battery_array", "chemistry")
    list_select_related = ("battery_array", "system")
    search_fields = ("pack_id", "name")
    inlines = (PackAdapterInline, BatteryInline)


@admin.register(m.Battery)
class BatteryAdmin(ServiceSaveAdmin):
    list_display = ("battery_id", "pack", "battery_index", "serial_number", "model")
    list_filter = ("system", "pack")
    list_select_related = ("pack",)
    search_fields = ("battery_id", "serial_number")
    inlines = (CellInline,)


@admin.register(m.BatteryCell)
class BatteryCellAdmin(ServiceSaveAdmin):
    list_display = ("cell_id", "battery", "pack", "cell_index", "nominal_voltage")
    list_filter = ("system", "pack")
    list_select_related = ("battery", "pack")
    search_fields = ("cell_id",)


@admin.register(m.BatteryArrayAttachment)
class AttachmentAdmin(ServiceSaveAdmin):
    list_display = ("battery_array", "inverter_array", "attached_since", "detached_at")
    list_filter = ("battery_array", "inverter_array")
    list_select_related = ("battery_array", "inverter_array")
    search_fields = ("battery_array__battery_array_id", "inverter_array__array_id")


@admin.register(m.Meter)
class MeterAdmin(ServiceSaveAdmin):
    list_display = ("meter_id", "name", "system", "attachment_target", "type", "adapter")
    list_filter = ("system", "type")
    list_select_related = ("system", "array", "adapter")
    search_fields = ("meter_id", "name", "serial_number")
    autocomplete_fields = ("adapter",)


class AdapterForm(forms.ModelForm):
    class Meta:
        model = m.Adapter
        fields = ("adapter_id", "adapter_type", "name", "config_json", "device_category", "device_id",
                  "device_type", "priority", "enabled", "poll_interval_s", "collector")
        widgets = {"config_json": PrettyJSONWidget(attrs={"rows": 14, "cols": 80})}


@admin.register(m.Adapter)
class AdapterAdmin(ServiceSaveAdmin):
    form = AdapterForm
    list_display = ("adapter_id", "adapter_type", "device_category", "device_type", "device_id",
                    "priority", "enabled")
    list_filter = ("adapter_type", "device_category", "enabled")
    list_select_related = ("adapter_type",)
    search_fields = ("adapter_id", "name", "device_id")


@admin.register(m.BatteryPackAdapter)
class PackAdapterAdmin(ServiceSaveAdmin):
    list_display = ("pack", "adapter", "priority", "enabled")
    list_filter = ("pack", "enabled")
    list_select_related = ("pack", "adapter")
    search_fields = ("pack__pack_id", "adapter__adapter_id")
    autocomplete_fields = ("adapter",)


@admin.register(m.AdapterType)
class AdapterTypeAdmin(admin.ModelAdmin):
    """Read-only: rows come from the adapter registry on every ``migrate``."""

    list_display = ("adapter_type", "device_category", "name", "version", "default_poll_interval_s")
    list_filter = ("device_category",)
    search_fields = ("adapter_type", "name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[m.AdapterType]:
        return super().get_queryset(request)


class CollectorAdapterInline(admin.TabularInline):
    """The adapters a collector polls; assign one from the adapter's own page (its collector)."""

    model = m.Adapter
    fk_name = "collector"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("adapter_id", "adapter_type", "device_type", "device_id", "enabled")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(m.Collector)
class CollectorAdmin(ServiceSaveAdmin):
    """Collectors register themselves when their worker starts; state follows the heartbeat."""

    list_display = ("name", "state", "last_heartbeat", "host", "version", "started_at")
    search_fields = ("name", "host")
    readonly_fields = ("state", "host", "version", "ports", "started_at", "last_heartbeat", "stopped_at",
                       "created_at", "updated_at")
    inlines = (CollectorAdapterInline,)

    @admin.display(description="state")
    def state(self, obj: m.Collector) -> str:
        return collector_state(obj, timezone.now())

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        # The name is the worker's SOLARMON_COLLECTOR: set when adding, fixed afterwards.
        return (*self.readonly_fields, "name") if obj is not None else self.readonly_fields
