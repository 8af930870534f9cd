"""Serializers of the catalog resources. Field names are the spec's column names.

Validation is the model's (``clean()``, fields, constraints), run by
:func:`catalog.services.save_entity`; these classes only choose and describe fields.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import models as m
from catalog.choices import CollectorState
from catalog.collectors import collector_state
from catalog.help_texts import FIELD_HELP
from catalog.services import save_entity
from solarmon.api.serializers import ServiceModelSerializer


class CatalogSerializer(ServiceModelSerializer):
    """Writes through ``save_entity``; describes every field."""

    def save_instance(self, instance: Model) -> Model:
        return save_entity(instance)

    def get_extra_kwargs(self) -> dict[str, Any]:
        extra = super().get_extra_kwargs()
        by_column = {f.column: f for f in self._model()._meta.concrete_fields}
        for name in self.Meta.fields:
            model_field = by_column.get(name)
            if name in FIELD_HELP and not (model_field and model_field.help_text):
                extra.setdefault(name, {}).setdefault("help_text", FIELD_HELP[name])
        return extra


class SystemSerializer(CatalogSerializer):
    """A whole installation at one site."""

    class Meta:
        model = m.System
        fields = ["system_id", "name", "description", "timezone", "created_at", "updated_at"]


class InverterArraySerializer(CatalogSerializer):
    """A group of inverters."""

    class Meta:
        model = m.InverterArray
        fields = ["array_id", "system_id", "name", "created_at", "updated_at"]


class InverterSerializer(CatalogSerializer):
    """One inverter."""

    class Meta:
        model = m.Inverter
        fields = ["inverter_id", "array_id", "system_id", "adapter_id", "name", "model", "serial_number",
                  "vendor", "phase_type", "rated_power_w", "created_at", "updated_at"]


class BatteryArraySerializer(CatalogSerializer):
    """A group of battery packs."""

    class Meta:
        model = m.BatteryArray
        fields = ["battery_array_id", "system_id", "name", "created_at", "updated_at"]


class BatteryPackSerializer(CatalogSerializer):
    """A battery pack (bank)."""

    class Meta:
        model = m.BatteryPack
        fields = ["pack_id", "battery_array_id", "system_id", "name", "chemistry", "nominal_kwh",
                  "max_charge_kw", "max_discharge_kw", "model", "manufacturer", "created_at", "updated_at"]


class BatterySerializer(CatalogSerializer):
    """One battery unit of a pack."""

    class Meta:
        model = m.Battery
        fields = ["battery_id", "pack_id", "battery_array_id", "system_id", "battery_index",
                  "serial_number", "model", "created_at"]
        extra_kwargs = {"battery_array_id": {"help_text": "Filled from the pack when left empty"},
                        "system_id": {"help_text": "Filled from the pack when left empty"}}


class BatteryCellSerializer(CatalogSerializer):
    """One cell of a battery unit."""

    class Meta:
        model = m.BatteryCell
        fields = ["cell_id", "battery_id", "pack_id", "battery_array_id", "system_id", "cell_index",
                  "nominal_voltage", "created_at"]
        extra_kwargs = {name: {"help_text": "Filled from the battery when left empty"}
                        for name in ("pack_id", "battery_array_id", "system_id")}


class MeterSerializer(CatalogSerializer):
    """An energy meter at system level or on one array."""

    class Meta:
        model = m.Meter
        fields = ["meter_id", "system_id", "array_id", "adapter_id", "name", "model", "type",
                  "attachment_target", "serial_number", "created_at", "updated_at"]
        extra_kwargs = {"array_id": {"help_text": "The array the meter measures; empty = system level"}}


class AdapterTypeSerializer(CatalogSerializer):
    """A supported adapter type; read-only (the adapter registry owns these rows)."""

    class Meta:
        model = m.AdapterType
        fields = ["adapter_type", "device_category", "name", "description", "config_schema",
                  "supported_transports", "default_config", "version", "default_poll_interval_s",
                  "created_at", "updated_at"]
        read_only_fields = fields
        extra_kwargs = {"adapter_type": {"help_text": "Type name, e.g. 'powdrive'"}}


class AdapterSerializer(CatalogSerializer):
    """An adapter instance: how to reach one device."""

    # A name, not a link to an existing row: naming a collector that has not run yet creates it
    # (catalog.services), as YAML import does.
    collector = serializers.CharField(
        source="collector_id", allow_null=True, allow_blank=True, required=False, max_length=64,
        help_text="The collector (host) that polls this adapter; empty: the collector that has its "
        "serial port, or the only collector")

    class Meta:
        model = m.Adapter
        fields = ["adapter_id", "adapter_type", "device_category", "name", "config_json", "device_id",
                  "device_type", "priority", "enabled", "poll_interval_s", "collector", "created_at",
                  "updated_at"]
        # The device link is written by linking the device to the adapter (an inverter's or
        # meter's adapter_id, a pack-adapter link), so both ends always agree.
        read_only_fields = ["device_id", "device_type"]

    def validate_collector(self, value: str | None) -> str | None:
        return value or None


class CollectorSerializer(CatalogSerializer):
    """A host that polls devices. Workers register themselves; ``state`` is aged to now."""

    state = serializers.SerializerMethodField()
    adapter_ids = serializers.SerializerMethodField()

    class Meta:
        model = m.Collector
        fields = ["name", "state", "host", "version", "ports", "started_at", "last_heartbeat",
                  "stopped_at", "adapter_ids", "created_at", "updated_at"]
        read_only_fields = ["host", "version", "ports", "started_at", "last_heartbeat", "stopped_at"]

    @extend_schema_field(serializers.ChoiceField(
        choices=CollectorState.choices,
        help_text="up while it heartbeats; down after SOLARMON_COLLECTOR_DOWN_AFTER_S without one"))
    def get_state(self, obj: m.Collector) -> str:
        return collector_state(obj, timezone.now())

    @extend_schema_field(serializers.ListField(
        child=serializers.CharField(), help_text="Adapters assigned to it (set an adapter's collector)"))
    def get_adapter_ids(self, obj: m.Collector) -> list[str]:
        return sorted(a.pk for a in obj.adapters.all())


class BatteryPackAdapterSerializer(CatalogSerializer):
    """A battery pack's link to one of its adapters, with failover priority."""

    class Meta:
        model = m.BatteryPackAdapter
        fields = ["id", "pack_id", "adapter_id", "priority", "enabled", "created_at"]
        extra_kwargs = {"adapter_id": {"help_text": "A battery adapter that reads the pack"},
                        "enabled": {"help_text": "Disabled links are skipped in failover"}}


class BatteryArrayAttachmentSerializer(CatalogSerializer):
    """Which inverter array a battery array feeds, and since when."""

    class Meta:
        model = m.BatteryArrayAttachment
        fields = ["id", "battery_array_id", "inverter_array_id", "attached_since", "detached_at"]
