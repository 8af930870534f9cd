"""Where the integrations' endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import BaseRouter

from integrations.api import views
from integrations.api.channels import NotificationChannelViewSet


def register(router: BaseRouter) -> None:
    """Register the integration viewsets on the API router."""
    router.register("integrations/mqtt/clients", views.MqttClientStatusViewSet, basename="mqtt-clients")
    router.register("integrations/mqtt/pack-options", views.MqttPackOptionViewSet,
                    basename="mqtt-pack-options")
    router.register("notification-channels", NotificationChannelViewSet, basename="notification-channels")


urlpatterns = [path("integrations/mqtt/", views.MqttSettingsView.as_view(), name="mqtt-settings")]
