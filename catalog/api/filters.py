"""Query filters of the catalog resources (django-filter). Parameter names are column names.

Id filters are plain text (``?system_id=system``): an unknown id matches nothing rather than
being an error. Choice filters list their values in the schema and reject others with a 400.
"""

from __future__ import annotations

import django_filters as df

from catalog import choices
from catalog import models as m


def _id(field_name: str, what: str) -> df.CharFilter:
    return df.CharFilter(field_name=field_name, label=f"Only rows of this {what} (its id)")


class CatalogFilterSet(df.FilterSet):
    """Base of the catalog's filter sets (text search is ``?search=``, see the views)."""


class SystemFilterSet(CatalogFilterSet):
    timezone = df.CharFilter(label="Only systems in this IANA timezone")

    class Meta:
        model = m.System
        fields: list[str] = []


class InverterArrayFilterSet(CatalogFilterSet):
    system_id = _id("system", "system")

    class Meta:
        model = m.InverterArray
        fields: list[str] = []


class InverterFilterSet(CatalogFilterSet):
    system_id = _id("system", "system")
    array_id = _id("array", "inverter array")
    adapter_id = _id("adapter", "adapter")
    phase_type = df.ChoiceFilter(choices=choices.PhaseType.choices, label="Only this phase type")
    vendor = df.CharFilter(label="Only this vendor")

    class Meta:
        model = m.Inverter
        fields: list[str] = []


class BatteryArrayFilterSet(CatalogFilterSet):
    system_id = _id("system", "system")

    class Meta:
        model = m.BatteryArray
        fields: list[str] = []


class BatteryPackFilterSet(CatalogFilterSet):
    system_id = _id("system", "system")
    battery_array_id = _id("battery_array", "battery array")
    chemistry = df.CharFilter(label="Only this chemistry (LFP, NMC, ...)")

    class Meta:
        model = m.BatteryPack
        fields: list[str] = []


class BatteryFilterSet(CatalogFilterSet):
    system_id = _id("system", "system")
    battery_array_id = _id("battery_array", "battery array")
    pack_id = _id("pack", "battery pack")

    class Meta:
        model = m.Battery
        fields: list[str] = []


class BatteryCellFilterSet(BatteryFilterSet):
    battery_id = _id("battery", "battery unit")

    class Meta:
        model = m.BatteryCell
        fields: list[str] = []


class MeterFilterSet(CatalogFilterSet):
    system_id = _id("system", "system")
    array_id = _id("array", "inverter array")
    adapter_id = _id("adapter", "adapter")
    type = df.ChoiceFilter(choices=choices.MeterType.choices, label="Only meters of this type")
    system_level = df.BooleanFilter(field_name="array", lookup_expr="isnull",
                                    label="true: only system-level meters; false: only array meters")

    class Meta:
        model = m.Meter
        fields: list[str] = []


class AdapterTypeFilterSet(CatalogFilterSet):
    device_category = df.ChoiceFilter(choices=choices.DeviceCategory.choices,
                                      label="Only types for this device category")

    class Meta:
        model = m.AdapterType
        fields: list[str] = []


class AdapterFilterSet(CatalogFilterSet):
    adapter_type = df.CharFilter(field_name="adapter_type", label="Only adapters of this type")
    device_category = df.ChoiceFilter(choices=choices.DeviceCategory.choices,
                                      label="Only adapters for this device category")
    device_type = df.ChoiceFilter(choices=choices.DeviceType.choices,
                                  label="Only adapters linked to this kind of device")
    device_id = df.CharFilter(label="Only adapters linked to this device id")
    enabled = df.BooleanFilter(label="Only enabled (true) or disabled (false) adapters")
    collector = df.CharFilter(field_name="collector", label="Only adapters assigned to this collector")

    class Meta:
        model = m.Adapter
        fields: list[str] = []


class BatteryPackAdapterFilterSet(df.FilterSet):
    pack_id = _id("pack", "battery pack")
    adapter_id = _id("adapter", "adapter")
    system_id = _id("pack__system", "system")
    enabled = df.BooleanFilter(label="Only enabled (true) or disabled (false) links")

    class Meta:
        model = m.BatteryPackAdapter
        fields: list[str] = []


class BatteryArrayAttachmentFilterSet(df.FilterSet):
    battery_array_id = _id("battery_array", "battery array")
    inverter_array_id = _id("inverter_array", "inverter array")
    system_id = _id("battery_array__system", "system")
    active = df.BooleanFilter(field_name="detached_at", lookup_expr="isnull",
                              label="true: only current attachments; false: only past ones")
    attached_after = df.IsoDateTimeFilter(field_name="attached_since", lookup_expr="gte",
                                          label="Attached at or after this time (ISO 8601)")
    attached_before = df.IsoDateTimeFilter(field_name="attached_since", lookup_expr="lt",
                                           label="Attached before this time (ISO 8601)")

    class Meta:
        model = m.BatteryArrayAttachment
        fields: list[str] = []
