"""``manage.py demo``: run the monitor in the foreground (web server on SOLARMON_PORT)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server on SOLARMON_PORT (default 8000)."

    def handle(self, *args: Any, **options: Any) -> None:
        bind = os.environ.get("SOLARMON_BIND", "127.0.0.1")
        self.stdout.write(f"solarmon: http://{bind}:{settings.SOLARMON_PORT}/  (admin: /admin/)")
        call_command("runserver", f"{bind}:{settings.SOLARMON_PORT}", use_reloader=False)
