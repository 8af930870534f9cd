"""``manage.py first_start``: seed an empty database (YAML fallback, else the default structure)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.services import ensure_default_structure


class Command(BaseCommand):
    help = "On an empty database create the default structure; afterwards the database wins."

    def handle(self, *args: Any, **options: Any) -> None:
        created = ensure_default_structure()
        if created:
            self.stdout.write("first start: created " + ", ".join(created))
        else:
            self.stdout.write("configuration comes from the database")
