"""Filter backends of the API: django-filter for fields, and ordering with its choices in the schema."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request


class ApiOrderingFilter(OrderingFilter):
    """``?ordering=field`` or ``-field``, among the view's ``ordering_fields``.

    The allowed values are listed in the schema, and the primary key breaks ties, so pages
    of a list ordered by a non-unique field never overlap.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        return queryset.order_by(*ordering, "pk")

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        fields = [f for f in getattr(view, "ordering_fields", None) or [] if isinstance(f, str)]
        if fields:
            choices = [value for field in fields for value in (field, f"-{field}")]
            parameters[0]["schema"] = {"type": "string", "enum": choices}
            parameters[0]["description"] = "Sort by this field; a leading '-' sorts descending"
        return parameters


MAX_SEARCH_LENGTH = 200


class ApiSearchFilter(SearchFilter):
    """``?search=words``: rows whose ``search_fields`` contain every word (case-insensitive).

    Documented only on views that declare ``search_fields``, since elsewhere it does nothing.
    """

    def get_search_terms(self, request: Request) -> list[str]:
        text = request.query_params.get(self.search_param, "")
        if len(text) > MAX_SEARCH_LENGTH:
            # Longer patterns only cost time (SQLite refuses LIKE patterns past 50,000 bytes).
            raise ValidationError({self.search_param: [
                f"at most {MAX_SEARCH_LENGTH} characters (got {len(text)})"]})
        try:
            terms: list[str] = super().get_search_terms(request)
        except ValidationError as exc:
            # DRF reports a bad search term (a NUL) as a bare list; name the parameter instead.
            raise ValidationError({self.search_param: exc.detail}) from None
        return terms

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        if not getattr(view, "search_fields", None):
            return []
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        fields = ", ".join(f.lstrip("^=@$") for f in view.search_fields)
        parameters[0]["description"] = f"Words that must all occur in one of: {fields}"
        return parameters


FILTER_BACKENDS = [DjangoFilterBackend, ApiSearchFilter, ApiOrderingFilter]
