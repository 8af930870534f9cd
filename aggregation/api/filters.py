"""Query filters of the rollup endpoints: ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (local dates,
inclusive) and the ids of the level. A malformed date, or ``from`` after ``to``, is a 400."""

from __future__ import annotations

from typing import Any

import django_filters as df
from django import forms
from django.db import models


class DateRangeForm(forms.Form):
    """Rejects a range whose start is after its end."""

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        first, last = data.get("from"), data.get("to")
        if first and last and first > last:
            raise forms.ValidationError({"to": "must not be before 'from'"})
        return data


def rollup_filterset(model: type[models.Model], date_field: str, ids: list[str]) -> type[df.FilterSet]:
    """A filter set with ``from``/``to`` on ``date_field`` and an exact filter per id column."""
    attrs: dict[str, Any] = {
        "from": df.DateFilter(field_name=date_field, lookup_expr="gte",
                              label="First local date (YYYY-MM-DD), inclusive"),
        "to": df.DateFilter(field_name=date_field, lookup_expr="lte",
                            label="Last local date (YYYY-MM-DD), inclusive"),
    }
    for column in ids:
        what = column.removesuffix("_id")
        attrs[column] = df.CharFilter(field_name=column, label=f"Only rows of this {what}")
    meta = type("Meta", (), {"model": model, "fields": [], "form": DateRangeForm})
    return type(f"{model.__name__}FilterSet", (df.FilterSet,), {**attrs, "Meta": meta})
