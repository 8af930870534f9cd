"""Where the catalog's endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from rest_framework.routers import BaseRouter

from catalog.api import views

RESOURCES = [
    ("systems", views.SystemViewSet),
    ("arrays", views.InverterArrayViewSet),
    ("inverters", views.InverterViewSet),
    ("battery-arrays", views.BatteryArrayViewSet),
    ("battery-packs", views.BatteryPackViewSet),
    ("batteries", views.BatteryViewSet),
    ("cells", views.BatteryCellViewSet),
    ("meters", views.MeterViewSet),
    ("adapter-types", views.AdapterTypeViewSet),
    ("adapters", views.AdapterViewSet),
    ("pack-adapters", views.BatteryPackAdapterViewSet),
    ("attachments", views.BatteryArrayAttachmentViewSet),
    ("collectors", views.CollectorViewSet),
]


def register(router: BaseRouter) -> None:
    """Register the catalog's viewsets on the API router."""
    for prefix, viewset in RESOURCES:
        router.register(prefix, viewset, basename=prefix)
