"""The original system's database import (``manage.py import_legacy``)."""

from __future__ import annotations

from django.apps import AppConfig


class LegacyConfig(AppConfig):
    name = "legacy"
    verbose_name = "Import from the original system"
