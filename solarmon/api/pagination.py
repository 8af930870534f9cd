"""Limit/offset pagination with bounds, so no query string reaches the database as a huge number."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

# Far beyond any catalog; small enough for every backend's OFFSET (SQLite's is a 64-bit int).
MAX_OFFSET = 10**9


class ApiPagination(LimitOffsetPagination):
    """``?limit=`` (default ``PAGE_SIZE``, at most ``max_limit``) and ``?offset=`` (capped)."""

    max_limit = 1000

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated: dict[str, Any] = super().get_paginated_response_schema(schema)
        descriptions = {
            "count": "Number of rows matching the filters, over all pages",
            "next": "URL of the next page; null on the last page",
            "previous": "URL of the previous page; null on the first page",
            "results": "The rows of this page",
        }
        for name, text in descriptions.items():
            paginated["properties"][name]["description"] = text
        return paginated
