"""Serializers of the catalog resources. Field names are the spec's column names.

Validation is the model's (``clean()``, fields, constraints), run by
:func:`catalog.services.save_entity`; these classes only choose and describe fields.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from catalog import models as m
from catalog.services import save_entity
from solarmon.api.serializers import ServiceModelSerializer

# Descriptions for fields whose model field has no help text, by API field name.
FIELD_HELP = {
    "name": "Display name",
    "description": "Free text",
    "system_id": "The system (installation) this row belongs to",
    "array_id": "The inverter array",
    "battery_array_id": "The battery array",
    "pack_id": "The battery pack",
    "battery_id": "The battery unit",
    "adapter_id": "The adapter that reads this device; empty = not read yet",
    "adapter_type": "Adapter type (see /api/adapter-types/)",
    "inverter_array_id": "The inverter array the battery array feeds",
    "model": "Device model, as reported or typed in",
    "serial_number": "Device serial number; identifies the device across port renames",
    "vendor": "Manufacturer",
    "manufacturer": "Manufacturer",
    "phase_type": "Grid connection: single or three phase, or detect",
    "type": "What the meter measures: grid exchange, consumption or production",
    "enabled": "Disabled adapters are not polled",
    "device_category": "inverter, battery or meter",
    "device_type": "What kind of device the adapter reads (set when a device links the adapter)",
    "nominal_kwh": "Usable capacity in kWh",
    "max_charge_kw": "Charge power limit in kW",
    "max_discharge_kw": "Discharge power limit in kW",
    "nominal_voltage": "Nominal cell voltage in V",
    "attached_since": "When the attachment started (UTC, ISO 8601)",
    "supported_transports": "Transports this type can use (rtu, tcp, rtu_over_tcp, serial, ble)",
    "default_config": "Config values used where an adapter's config_json leaves them out",
    "version": "Version of this type's config schema",
    "created_at": "When the row was created (UTC)",
    "updated_at": "When the row was last changed (UTC)",
    "id": "Row number",
}


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

    class Meta:
        model = m.Adapter
        fields = ["adapter_id", "adapter_type", "device_category", "name", "config_json", "device_id",
                  "device_type", "priority", "enabled", "poll_interval_s", "created_at", "updated_at"]
        # The device link is written by linking the device to the adapter (an inverter's or
        # meter's adapter_id, a pack-adapter link), so both ends always agree.
        read_only_fields = ["device_id", "device_type"]


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
