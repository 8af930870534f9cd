"""Where the rollup endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import BaseRouter

from aggregation.api.storage import StorageStatusView
from aggregation.api.views import VIEWSETS


def register(router: BaseRouter) -> None:
    """Register the rollup viewsets on the API router."""
    for prefix, viewset in VIEWSETS:
        router.register(prefix, viewset, basename=prefix.replace("/", "-"))


urlpatterns = [
    path("storage/", StorageStatusView.as_view(), name="storage-status"),
]
