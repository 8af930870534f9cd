"""Read-only serializers of the rollup tables. Field names are the tables' column names."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers

from telemetry.series import MAX_POINTS, SERIES


def _fields(model: type[models.Model]) -> dict[str, serializers.Field]:
    """Foreign keys as their id columns (``inverter_id``), everything else as the model's field."""
    out: dict[str, serializers.Field] = {}
    for field in model._meta.concrete_fields:
        if isinstance(field, models.ForeignKey):
            what = field.name.replace("_", " ")
            out[field.attname] = serializers.CharField(read_only=True, allow_null=field.null,
                                                       help_text=f"Id of the {what}")
    return out


def rollup_serializer(model: type[models.Model]) -> type[serializers.ModelSerializer]:
    """A read-only serializer of ``model`` with every column, ids by their column names."""
    declared = _fields(model)
    names = [f.attname if isinstance(f, models.ForeignKey) else f.name
             for f in model._meta.concrete_fields if f.name != "pk"]
    meta: Any = type("Meta", (), {"model": model, "fields": names, "read_only_fields": names})
    return type(f"{model.__name__}Serializer", (serializers.ModelSerializer,), {**declared, "Meta": meta})


class TodayEnergySerializer(serializers.Serializer[Any]):
    """Today's energy of a system or device, live to its last poll but one."""

    kind = serializers.CharField(help_text="system, array, inverter, pack or meter")
    device_id = serializers.CharField(help_text="Id of the system or device")
    date = serializers.DateField(help_text="The system's local date")
    as_of = serializers.DateTimeField(help_text="When the figures were read (UTC)")
    hours = serializers.IntegerField(help_text="Closed hours summed from the hourly rollups")
    live_s = serializers.FloatField(help_text="Seconds at the end computed from raw samples on read")
    pv = serializers.FloatField(allow_null=True, help_text="PV energy, kWh")
    load = serializers.FloatField(allow_null=True, help_text="Load energy, kWh")
    charge = serializers.FloatField(allow_null=True, help_text="Battery charge energy, kWh")
    discharge = serializers.FloatField(allow_null=True, help_text="Battery discharge energy, kWh")
    export = serializers.FloatField(allow_null=True, help_text="Grid export, kWh")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "import" is a Python keyword and "source" a Field attribute: declared here instead.
        fields["import"] = serializers.FloatField(allow_null=True, help_text="Grid import, kWh")
        fields["source"] = serializers.CharField(
            allow_null=True, help_text="rollups, live, rollups+live, or null: nothing today")
        return fields


class SeriesQuerySerializer(serializers.Serializer[Any]):
    """Query parameters of a series."""

    start = serializers.DateTimeField(help_text="Start of the range (ISO 8601; default: 24 h before end)",
                                      required=False)
    end = serializers.DateTimeField(help_text="End of the range, exclusive (default: now)", required=False)
    points = serializers.IntegerField(min_value=1, max_value=MAX_POINTS, default=300,
                                      help_text="At most this many buckets")
    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "fields" is a Serializer attribute: declared here instead.
        fields["fields"] = serializers.CharField(
            required=False, help_text="Comma-separated quantities (default: all of the kind)")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("start") and attrs.get("end") and attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": "must be after start"})
        return attrs


class SeriesPointSerializer(serializers.Serializer[Any]):
    ts = serializers.DateTimeField(help_text="Start of the bucket (UTC)")
    samples = serializers.IntegerField(help_text="Samples behind the bucket; 0 is a gap (values null)")
    values = serializers.DictField(child=serializers.FloatField(allow_null=True),
                                   help_text="Average of each quantity over the bucket")
    min = serializers.DictField(child=serializers.FloatField(allow_null=True),
                                help_text="Lowest value of each quantity the source keeps a minimum of")
    max = serializers.DictField(child=serializers.FloatField(allow_null=True),
                                help_text="Highest value of each quantity the source keeps a maximum of")


class SeriesSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=SERIES, help_text="What the series is of")
    device_id = serializers.CharField(help_text="Id of the inverter, meter, pack, array or system")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    step_s = serializers.IntegerField(help_text="Width of each bucket in seconds")
    timezone = serializers.CharField(help_text="The system's time zone, for local hours and days")
    columns = serializers.ListField(child=serializers.CharField(), help_text="The quantities in each point")
    points = SeriesPointSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "source" is a Field attribute: declared here instead.
        fields["source"] = serializers.CharField(
            help_text="Where the points come from: raw (samples), tiers (5-minute tiers) or hourly (rollups)")
        return fields
