"""Read-only serializers of the rollup tables. Field names are the tables' column names."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers


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
