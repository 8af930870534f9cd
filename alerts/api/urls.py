"""Where the alert endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from rest_framework.routers import BaseRouter

from alerts.api.views import AlertRuleViewSet, AlertViewSet


def register(router: BaseRouter) -> None:
    """Register the alert viewsets on the API router."""
    router.register("alerts", AlertViewSet, basename="alerts")
    router.register("alert-rules", AlertRuleViewSet, basename="alert-rules")
