"""Integrations: what leaves the box (MQTT with Home Assistant discovery, notifications)."""

from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"
