"""Where telemetry's endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import BaseRouter

from telemetry.api import views


def register(router: BaseRouter) -> None:
    """Register telemetry's viewsets on the API router."""
    router.register("device-status", views.DeviceStatusViewSet, basename="device-status")


urlpatterns = [
    path("systems/<str:system_id>/live/", views.LiveSystemView.as_view(), name="system-live"),
]
