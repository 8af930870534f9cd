"""Where the rollup endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from rest_framework.routers import BaseRouter

from aggregation.api.views import VIEWSETS


def register(router: BaseRouter) -> None:
    """Register the rollup viewsets on the API router."""
    for prefix, viewset in VIEWSETS:
        router.register(prefix, viewset, basename=prefix.replace("/", "-"))
