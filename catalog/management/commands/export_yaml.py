"""``manage.py export_yaml [PATH]``: write the database configuration as YAML (stdout by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.yamlconfig import ImportFailed, export_config


class Command(BaseCommand):
    """Write the configuration as YAML."""

    help = "Write the configuration in the config.yaml shape of spec §7, to PATH or stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the command-line options."""
        parser.add_argument("path", nargs="?", help="file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the command."""
        try:
            text = export_config()
        except ImportFailed as exc:
            raise CommandError("; ".join(exc.problems)) from exc
        if not options["path"]:
            self.stdout.write(text, ending="")
            return
        target = Path(options["path"])
        # Write beside the target, then rename, so an interrupted export never leaves half a file.
        partial = target.with_name(target.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
        self.stdout.write(f"wrote {target}")
