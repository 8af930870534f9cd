"""Catalog app config: syncs ``adapter_base`` from the registry after every migrate."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_adapter_types(sender: AppConfig, **kwargs: Any) -> None:
    from catalog.services import sync_adapter_types

    sync_adapter_types()


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Configuration"

    def ready(self) -> None:
        post_migrate.connect(_sync_adapter_types, sender=self)
