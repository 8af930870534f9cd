"""Everything under /api/: each app's endpoints, registered in one place.

To add an app's API, give it an ``<app>/api/urls.py`` with ``register(router)`` (viewsets)
and, if it has endpoints that are not viewsets, ``urlpatterns``; then add the module to
``APP_APIS``. See docs/api.md.
"""

from __future__ import annotations

from types import ModuleType

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import DefaultRouter

from aggregation.api import urls as aggregation_api
from alerts.api import urls as alerts_api
from catalog.api import urls as catalog_api
from catalog.api.hierarchy import DeviceStateSource, SystemHierarchyView, no_device_states
from discovery.api import urls as discovery_api
from integrations.api import urls as integrations_api
from telemetry.api import urls as telemetry_api

try:
    from telemetry.selectors import device_states as latest_device_states
except ModuleNotFoundError as exc:
    if exc.name != "telemetry.selectors":
        raise
    # Without telemetry's selectors every device shows state "unknown" and no values.
    device_states: DeviceStateSource = no_device_states
else:
    device_states = latest_device_states

APP_APIS: list[ModuleType] = [catalog_api, discovery_api, telemetry_api, aggregation_api, alerts_api,
                              integrations_api]

router = DefaultRouter()
for app_api in APP_APIS:
    app_api.register(router)

urlpatterns: list[URLPattern | URLResolver] = [
    path("systems/<str:system_id>/hierarchy/",
         SystemHierarchyView.as_view(device_states=device_states), name="system-hierarchy"),
]
for app_api in APP_APIS:
    urlpatterns += getattr(app_api, "urlpatterns", [])
urlpatterns += router.urls
