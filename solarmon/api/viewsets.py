"""Base viewsets. Every app's API viewsets derive from these, so they share parsers, paging and schema.

A viewset only declares attributes (NetBox style): ``queryset`` (with ``select_related``),
``serializer_class``, ``filterset_class``, ``ordering_fields``, and a docstring, which becomes
the endpoint's description in the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.filters import BaseFilterBackend
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import BasePagination
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.schemas.inspectors import ViewInspector

from solarmon.api.filters import FILTER_BACKENDS
from solarmon.api.pagination import ApiPagination
from solarmon.api.parsers import PARSER_CLASSES
from solarmon.api.schema import ApiAutoSchema

# Text ids may contain dots ("meter.1"); DRF's default lookup pattern stops at one.
ID_LOOKUP_REGEX = r"[^/]+"


class ApiViewSetMixin(GenericAPIView):
    """Bounded parsers, bounded pagination, filters and ordering, error responses in the schema."""

    parser_classes: Sequence[type[BaseParser]] = PARSER_CLASSES
    filter_backends: Sequence[type[BaseFilterBackend]] = FILTER_BACKENDS
    pagination_class: type[BasePagination] | None = ApiPagination
    schema: ViewInspector | None = ApiAutoSchema()
    lookup_value_regex = ID_LOOKUP_REGEX

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # No row id holds a NUL, and PostgreSQL refuses the character in a query outright.
        if any("\x00" in str(value) for value in kwargs.values()):
            raise NotFound()


class ApiModelViewSet(ApiViewSetMixin, viewsets.ModelViewSet):
    """Create, list, retrieve, update, partial update and delete."""

    # No HEAD/OPTIONS duplicates in the schema; OPTIONS still answers for the browsable API.
    http_method_names = ["get", "post", "put", "patch", "delete", "options"]


class ApiReadOnlyViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve only."""

    http_method_names = ["get", "options"]


class ApiView(ApiViewSetMixin):
    """A single endpoint that is not a resource (e.g. a computed view of several tables)."""

    http_method_names = ["get", "options"]
