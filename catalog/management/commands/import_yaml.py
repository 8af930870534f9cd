"""``manage.py import_yaml PATH [--dry-run] [--prune [--force]] [--strict]``: load a config file into the
database (solarmon's shape or the original system's config.yaml as it is)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.yamlconfig import ImportFailed, import_config


class Command(BaseCommand):
    """Load a config file; see the README's YAML configuration section."""

    help = ("Import a config.yaml (spec §7). Everything is checked first; on any error nothing is "
            "written. Prints, per table, the rows created, updated, unchanged and deleted.")

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the command-line options."""
        parser.add_argument("path", help="the YAML file")
        parser.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
        parser.add_argument("--prune", action="store_true",
                            help="delete catalog rows the file does not name (off by default)")
        parser.add_argument("--force", action="store_true",
                            help="with --prune: also delete the samples and rollups of pruned devices")
        parser.add_argument("--strict", action="store_true",
                            help="treat what would not be imported (warnings) as errors")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the command."""
        if options["force"] and not options["prune"]:
            raise CommandError("--force only applies with --prune")
        try:
            report = import_config(Path(options["path"]), dry_run=options["dry_run"],
                                   prune=options["prune"], force=options["force"],
                                   strict=options["strict"])
        except ImportFailed as exc:
            count = len(exc.problems)
            raise CommandError(f"{options['path']}: {count} problem{'s' if count != 1 else ''}, "
                               "nothing was written:\n" + "\n".join(exc.problems)) from exc
        for line in report.lines():
            self.stdout.write(line)
