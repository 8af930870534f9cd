"""``manage.py bootstrap``: create the default structure when the database has none."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.services import ensure_default_structure


class Command(BaseCommand):
    help = "Create the default system, arrays and attachment (spec §6.5) if no system exists."

    def handle(self, *args: Any, **options: Any) -> None:
        created = ensure_default_structure()
        if created:
            for item in created:
                self.stdout.write(f"created {item}")
        else:
            self.stdout.write("a configuration exists; nothing changed")
