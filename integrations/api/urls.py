"""Where the integration endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from rest_framework.routers import BaseRouter

from integrations.api.channels import NotificationChannelViewSet


def register(router: BaseRouter) -> None:
    """Register the integration viewsets on the API router."""
    router.register("notification-channels", NotificationChannelViewSet, basename="notification-channels")
