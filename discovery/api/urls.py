"""Where discovery's endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from rest_framework.routers import BaseRouter

from discovery.api import views

RESOURCES = [
    ("discovered-devices", views.DiscoveredDeviceViewSet),
    ("discovery-ports", views.PortProbeViewSet),
]


def register(router: BaseRouter) -> None:
    """Register discovery's viewsets on the API router."""
    for prefix, viewset in RESOURCES:
        router.register(prefix, viewset, basename=prefix)
