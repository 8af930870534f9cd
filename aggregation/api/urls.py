"""Where the rollup endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import BaseRouter

from aggregation.api.cells import CellSeriesView, WeakestCellView
from aggregation.api.storage import StorageStatusView
from aggregation.api.views import VIEWSETS, SeriesView, TodayEnergyView


def register(router: BaseRouter) -> None:
    """Register the rollup viewsets on the API router."""
    for prefix, viewset in VIEWSETS:
        router.register(prefix, viewset, basename=prefix.replace("/", "-"))


urlpatterns = [
    path("storage/", StorageStatusView.as_view(), name="storage-status"),
    path("energy/today/<str:kind>/<str:device_id>/", TodayEnergyView.as_view(), name="energy-today"),
    path("series/cell/<str:cell_id>/", CellSeriesView.as_view(), name="series-cell"),
    path("battery-packs/<str:pack_id>/weakest-cell/", WeakestCellView.as_view(), name="weakest-cell"),
    path("series/<str:kind>/<str:device_id>/", SeriesView.as_view(), name="series"),
]
