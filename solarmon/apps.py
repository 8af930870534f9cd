"""The project app: dashboard views, templates and static files."""

from django.apps import AppConfig


class SolarmonConfig(AppConfig):
    name = "solarmon"
    verbose_name = "solarmon"
