"""URL root: dashboard at /, admin at /admin/, REST API under /api/."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic.base import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from aggregation.admin_views import storage_admin
from solarmon import views
from solarmon.dashboard import alerts as alerts_page

urlpatterns = [
    path("", views.overview, name="overview"),
    path("today.json", views.today_json, name="today-json"),
    path("history/", views.history, name="history"),
    path("history.csv", views.history_csv, name="history-csv"),
    path("battery/", views.battery, name="battery"),
    path("discovery/", views.discovery, name="discovery"),
    path("alerts/", alerts_page.alerts, name="alerts"),
    # Browsers ask for /favicon.ico on every page, the admin's too.
    path("favicon.ico", RedirectView.as_view(url=static("solarmon/icon.svg"), permanent=True)),
    path("admin/storage/", admin.site.admin_view(storage_admin), name="admin-storage"),
    path("login/", views.DashboardLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/health/", views.health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api-auth/", include("rest_framework.urls")),
    path("api/", include("solarmon.api_urls")),
]
