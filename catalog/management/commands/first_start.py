"""``manage.py first_start``: seed an empty database (YAML fallback, else the default structure).

On an empty database, ``settings.SOLARMON_CONFIG`` is imported when it exists; otherwise the
default structure of spec §6.5 is created. From then on the database is the source of
truth and the file is not read again. An invalid file stops start-up with its errors and
writes nothing, so the user fixes it (or moves it away to start with the default structure).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.models import System
from catalog.services import ensure_default_structure
from catalog.yamlconfig import ImportFailed, import_config

log = logging.getLogger("catalog.first_start")


class Command(BaseCommand):
    """Seed an empty database from SOLARMON_CONFIG or the default structure."""

    help = ("On an empty database import SOLARMON_CONFIG if it exists, else create the default "
            "structure; afterwards the database wins.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the command."""
        config = Path(settings.SOLARMON_CONFIG)
        if System.objects.exists():
            note = f"; {config} is not read (load it with manage.py import_yaml)" if config.exists() else ""
            self._say(f"configuration comes from the database{note}")
        elif config.exists():
            self._import(config)
        else:
            created = ensure_default_structure()
            self._say("first start: created " + ", ".join(created) + "; from now on the configuration "
                      "comes from the database")

    def _import(self, config: Path) -> None:
        try:
            report = import_config(config)
        except ImportFailed as exc:
            log.error("first start: %s is invalid; nothing was written", config)
            problems = "\n".join(exc.problems)
            raise CommandError(f"first start: {config} is invalid; nothing was written. Fix it, or move it "
                               f"away to start with the default structure:\n{problems}") from exc
        for warning in report.plan.desired.warnings:
            self._say(f"first start: {warning}")
        self._say(f"first start: imported {config} ({report.created} rows created); from now on the "
                  f"configuration comes from the database and {config.name} is no longer read")

    def _say(self, message: str) -> None:
        log.info(message)
        self.stdout.write(message)
