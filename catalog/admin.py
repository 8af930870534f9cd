"""The Django admin is solarmon's configuration UI.

Inlines follow the hierarchy (system → arrays → inverters; battery array → packs →
batteries → cells; pack → adapters by priority). Every save goes through
``catalog.services.save_entity``, the same validation the API, YAML import and discovery
use. ``adapter_base`` rows are read-only: the registry owns them. Device lists show each
device's polling state, and an adapter's connection settings are a form built from its
type's JSON Schema (``catalog.adapter_forms``) with a "Test connection" button.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import Field, Model, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from catalog import models as m
from catalog.adapter_forms import AdapterForm, adapter_form_class
from catalog.collectors import collector_state
from catalog.help_texts import help_for
from catalog.providers import PROVIDERS, DeviceStatusView
from catalog.services import save_entity

admin.site.site_header = "solarmon"
admin.site.site_title = "solarmon"
admin.site.index_title = "Configuration"
admin.site.site_url = "/"


class HelpTextMixin:
    """Every field a user edits gets a help text, from the model or ``catalog.help_texts``."""

    def formfield_for_dbfield(self, db_field: Field, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None and not formfield.help_text:
            formfield.help_text = help_for(db_field.name)
        return formfield


class ServiceSaveAdmin(HelpTextMixin, admin.ModelAdmin):
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


# ---- device status in lists ---------------------------------------------------------
STATE_COLORS = {"online": "#2e9d57", "stale": "#d08700", "offline": "#c0392b", "unknown": "#8a939b"}


def _status_of(obj: Model) -> DeviceStatusView:
    return getattr(obj, "_status", None) or DeviceStatusView("unknown")


class DeviceStatusAdmin(ServiceSaveAdmin):
    """A device list with state, last seen and last error, and a "Poll now" action."""

    status_kind = ""  # the device kind of telemetry's status rows: inverter, meter, battery_pack
    actions = ["poll_now"]

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        states = PROVIDERS.device_status(self.status_kind, [row.pk for row in rows])
        for row in rows:
            row._status = states.get(row.pk)  # type: ignore[attr-defined]
        changelist.result_list = rows
        return changelist

    @admin.display(description="state")
    def state(self, obj: Model) -> str:
        status = _status_of(obj)
        return format_html('<strong class="device-state state-{}" style="color: {}">{}</strong>',
                           status.state, STATE_COLORS.get(status.state, "inherit"), status.state)

    @admin.display(description="last seen")
    def last_seen(self, obj: Model) -> str:
        seen = _status_of(obj).last_seen
        return f"{timesince(seen, timezone.now())} ago" if seen else "never"

    @admin.display(description="last error")
    def last_error(self, obj: Model) -> str:
        error = _status_of(obj).last_error
        return error if len(error) <= 120 else error[:119] + "…"

    @admin.action(description="Poll the selected devices now")
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        due = PROVIDERS.poll_now(self.status_kind, ids)
        if due:
            self.message_user(request, f"{due} of {len(ids)} devices will be polled within seconds.",
                              messages.SUCCESS)
        else:
            self.message_user(request, "None of these devices has been polled yet: they are polled as "
                              "soon as the worker runs.", messages.WARNING)


# ---- inlines ------------------------------------------------------------------------
class HelpInline(HelpTextMixin, admin.TabularInline):
    extra = 0


class InverterArrayInline(HelpInline):
    model = m.InverterArray
    show_change_link = True
    fields = ("array_id", "name")


class BatteryArrayInline(HelpInline):
    model = m.BatteryArray
    show_change_link = True
    fields = ("battery_array_id", "name")


class MeterInline(HelpInline):
    model = m.Meter
    show_change_link = True
    fields = ("meter_id", "name", "type", "array", "adapter")
    fk_name = "system"


class InverterInline(HelpInline):
    model = m.Inverter
    show_change_link = True
    fields = ("inverter_id", "name", "model", "serial_number", "adapter")
    autocomplete_fields = ("adapter",)


class BatteryPackInline(HelpInline):
    model = m.BatteryPack
    show_change_link = True
    fields = ("pack_id", "name", "chemistry", "nominal_kwh")


class AttachmentInline(HelpInline):
    """The attachment history of a battery array, newest first."""

    model = m.BatteryArrayAttachment
    fields = ("inverter_array", "attached_since", "detached_at")


class BatteryInline(HelpInline):
    model = m.Battery
    show_change_link = True
    fields = ("battery_id", "battery_index", "serial_number", "model")


class PackAdapterInline(HelpInline):
    """A pack's adapters by failover priority; the one that answered last is marked active."""

    model = m.BatteryPackAdapter
    fields = ("adapter", "priority", "enabled", "in_use")
    readonly_fields = ("in_use",)
    autocomplete_fields = ("adapter",)
    ordering = ("priority",)
    verbose_name = "adapter (by failover priority)"
    verbose_name_plural = "adapters (by failover priority; the pack is read through the active one)"

    @admin.display(description="in use")
    def in_use(self, obj: m.BatteryPackAdapter) -> str:
        if not obj.pk:
            return ""
        status = PROVIDERS.device_status("battery_pack", [obj.pack_id]).get(obj.pack_id)
        if status is None or not status.active_adapter_id:
            return "not polled yet"
        if status.active_adapter_id != obj.adapter_id:
            return "standby"
        return format_html('<strong class="active-adapter">active</strong> ({})', status.state)


class CellInline(HelpInline):
    model = m.BatteryCell
    fields = ("cell_id", "cell_index", "nominal_voltage")


# ---- model admins -------------------------------------------------------------------
@admin.register(m.System)
class SystemAdmin(ServiceSaveAdmin):
    list_display = ("system_id", "name", "timezone", "created_at")
    search_fields = ("system_id", "name", "description")
    fields = ("system_id", "name", "description", "timezone")
    inlines = (InverterArrayInline, BatteryArrayInline, MeterInline)


@admin.register(m.InverterArray)
class InverterArrayAdmin(ServiceSaveAdmin):
    list_display = ("array_id", "name", "system")
    list_filter = ("system",)
    list_select_related = ("system",)
    search_fields = ("array_id", "name")
    fields = ("system", "array_id", "name")
    inlines = (InverterInline,)


@admin.register(m.Inverter)
class InverterAdmin(DeviceStatusAdmin):
    status_kind = "inverter"
    list_display = ("inverter_id", "name", "array", "state", "last_seen", "last_error", "model",
                    "serial_number", "adapter")
    list_filter = ("system", "array", "vendor", "phase_type")
    list_select_related = ("array", "system", "adapter")
    search_fields = ("inverter_id", "name", "serial_number", "model")
    autocomplete_fields = ("adapter",)
    fieldsets = (
        ("Where it sits", {"fields": ("system", "array")}),
        ("Inverter", {"fields": ("inverter_id", "name", "vendor", "model", "serial_number", "phase_type",
                                 "rated_power_w")}),
        ("How it is read", {"fields": ("adapter",)}),
    )


@admin.register(m.BatteryArray)
class BatteryArrayAdmin(ServiceSaveAdmin):
    list_display = ("battery_array_id", "name", "system")
    list_filter = ("system",)
    list_select_related = ("system",)
    search_fields = ("battery_array_id", "name")
    fields = ("system", "battery_array_id", "name")
    inlines = (BatteryPackInline, AttachmentInline)


@admin.register(m.BatteryPack)
class BatteryPackAdmin(DeviceStatusAdmin):
    status_kind = "battery_pack"
    list_display = ("pack_id", "name", "battery_array", "state", "last_seen", "last_error", "active_adapter",
                    "chemistry", "nominal_kwh")
    list_filter = ("system", "battery_array", "chemistry")
    list_select_related = ("battery_array", "system")
    search_fields = ("pack_id", "name")
    fieldsets = (
        ("Where it sits", {"fields": ("system", "battery_array")}),
        ("Pack", {"fields": ("pack_id", "name", "chemistry", "nominal_kwh", "max_charge_kw",
                             "max_discharge_kw")}),
    )
    inlines = (PackAdapterInline, BatteryInline)

    @admin.display(description="active adapter")
    def active_adapter(self, obj: m.BatteryPack) -> str:
        return _status_of(obj).active_adapter_id or "—"


@admin.register(m.Battery)
class BatteryAdmin(ServiceSaveAdmin):
    list_display = ("battery_id", "pack", "battery_index", "serial_number", "model")
    list_filter = ("system", "pack")
    list_select_related = ("pack",)
    search_fields = ("battery_id", "serial_number")
    fieldsets = (
        ("Where it sits", {"fields": ("system", "battery_array", "pack")}),
        ("Battery unit", {"fields": ("battery_id", "battery_index", "serial_number", "model")}),
    )
    inlines = (CellInline,)


@admin.register(m.BatteryCell)
class BatteryCellAdmin(ServiceSaveAdmin):
    list_display = ("cell_id", "battery", "pack", "cell_index", "nominal_voltage")
    list_filter = ("system", "pack")
    list_select_related = ("battery", "pack")
    search_fields = ("cell_id",)
    fieldsets = (
        ("Where it sits", {"fields": ("system", "battery_array", "pack", "battery")}),
        ("Cell", {"fields": ("cell_id", "cell_index", "nominal_voltage")}),
    )


@admin.register(m.BatteryArrayAttachment)
class AttachmentAdmin(ServiceSaveAdmin):
    list_display = ("battery_array", "inverter_array", "attached_since", "detached_at")
    list_filter = ("battery_array", "inverter_array")
    list_select_related = ("battery_array", "inverter_array")
    search_fields = ("battery_array__battery_array_id", "inverter_array__array_id")


@admin.register(m.Meter)
class MeterAdmin(DeviceStatusAdmin):
    status_kind = "meter"
    list_display = ("meter_id", "name", "system", "attachment_target", "type", "state", "last_seen",
                    "last_error", "adapter")
    list_filter = ("system", "type")
    list_select_related = ("system", "array", "adapter")
    search_fields = ("meter_id", "name", "serial_number")
    autocomplete_fields = ("adapter",)
    fieldsets = (
        ("Where it sits", {"fields": ("system", "array", "attachment_target")}),
        ("Meter", {"fields": ("meter_id", "name", "type", "model", "serial_number")}),
        ("How it is read", {"fields": ("adapter",)}),
    )


@admin.register(m.Adapter)
class AdapterAdmin(ServiceSaveAdmin):
    """Adapters: the connection form follows the chosen type's schema; "Test connection" reads
    the device once with what the form holds, saved or not."""

    form = AdapterForm
    change_form_template = "admin/catalog/adapter/change_form.html"
    list_display = ("adapter_id", "adapter_type", "device_category", "device_type", "device_id",
                    "priority", "enabled")
    list_filter = ("adapter_type", "device_category", "enabled")
    list_select_related = ("adapter_type",)
    search_fields = ("adapter_id", "name", "device_id")

    def _chosen_type(self, request: HttpRequest, obj: m.Adapter | None) -> m.AdapterType | None:
        wanted = (request.POST.get("adapter_type") or request.GET.get("adapter_type")
                  or (obj.adapter_type_id if obj else None))
        return m.AdapterType.objects.filter(pk=wanted).first() if wanted else None

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = adapter_form_class(self._chosen_type(request, obj))
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        type_row = self._chosen_type(request, obj)
        form_class = adapter_form_class(type_row)
        connection = ("Connection", {
            "fields": form_class.config_field_names,
            "description": (type_row.description or "") if type_row else
            "Choose an adapter type above: its connection settings appear here.",
            "classes": ("adapter-connection",)})
        return (
            (None, {"fields": ("adapter_id", "name", "adapter_type", "enabled")}),
            connection,
            ("Polling", {"fields": ("poll_interval_s", "priority", "collector")}),
            ("Device", {"fields": ("device_category", "device_type", "device_id"),
                        "description": "Filled in when an inverter, meter or pack links this adapter."}),
            ("Advanced: the configuration as JSON", {"classes": ("collapse",),
                                                      "fields": ("edit_json", "config_json")}),
        )

    def get_urls(self) -> list[URLPattern]:
        test = path("test-connection/", self.admin_site.admin_view(self.test_connection_view),
                    name="catalog_adapter_test_connection")
        return [test, *super().get_urls()]

    def test_connection_view(self, request: HttpRequest) -> JsonResponse:
        """Read the device the posted form describes, once; the form's config problems by field."""
        return require_POST(self._test_connection)(request)

    def _test_connection(self, request: HttpRequest) -> JsonResponse:
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            return JsonResponse({"ok": False, "error": "not allowed"}, status=403)
        obj = m.Adapter.objects.filter(pk=request.POST.get("_original_id") or "").first()
        type_row = self._chosen_type(request, obj)
        if type_row is None:
            return JsonResponse({"ok": False, "error": "Choose an adapter type first.",
                                 "errors": {"adapter_type": ["Choose an adapter type first."]}})
        form = adapter_form_class(type_row)(request.POST, instance=obj)
        config, errors = form.config_for_test()
        if errors:
            return JsonResponse({"ok": False, "error": "Fix the fields marked below first.",
                                 "errors": errors})
        result = PROVIDERS.test_connection(type_row.adapter_type, config)
        return JsonResponse({"ok": result.ok, "error": result.error, "identity": result.identity,
                             "kind": result.kind, "reading": result.reading,
                             "duration_ms": result.duration_ms, "config": config},
                            json_dumps_params={"default": str})

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> Any:
        types = m.AdapterType.objects.values("adapter_type", "supported_transports")
        context["adapter_types_json"] = json.dumps({t["adapter_type"]: t["supported_transports"]
                                                    for t in types})
        return super().render_change_form(request, context, add, change, form_url, obj)


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
