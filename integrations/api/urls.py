"""Where the integrations' endpoints go under /api/ (called from solarmon.api_urls)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import BaseRouter

from integrations.api import views


def register(router: BaseRouter) -> None:
    router.register("integrations/mqtt/clients", views.MqttClientStatusViewSet, basename="mqtt-clients")
    router.register("integrations/mqtt/pack-options", views.MqttPackOptionViewSet,
                    basename="mqtt-pack-options")


urlpatterns = [path("integrations/mqtt/", views.MqttSettingsView.as_view(), name="mqtt-settings")]
