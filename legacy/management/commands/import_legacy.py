"""``manage.py import_legacy PATH [--dry-run] [--system ID] [--config YAML]``: move an installation of
the original system (its SQLite database) into solarmon. See the README, "Moving from the original
system"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from catalog.yamlconfig import ImportFailed
from legacy.services import LegacyError, import_legacy


class Command(BaseCommand):
    """Import the original's database: catalog, samples, discovery rows; then recompute rollups."""

    help = ("Import the original system's database (~/.solarhub/solarhub.db): its catalog (unless solarmon "
            "has one), every sample, its discovered devices; then solarmon recomputes the rollups of every "
            "imported day. Safe to run again: an interrupted import resumes, a finished one changes nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the original's SQLite database file")
        parser.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
        parser.add_argument("--system", help="the solarmon system the devices go into (needed when solarmon "
                            "has several; the id of a system the import creates)")
        parser.add_argument("--config", help="the original's config.yaml, for the catalog of a database "
                            "without catalog tables (the original before its hierarchy migration)")

    def handle(self, *args: Any, **options: Any) -> None:
        config = Path(options["config"]) if options["config"] else None
        try:
            result = import_legacy(Path(options["path"]), dry_run=options["dry_run"],
                                   system_id=options["system"], config=config,
                                   progress=_Unbroken(self.stderr))
        except LegacyError as exc:
            raise CommandError(str(exc) if exc.partial else f"{exc}; nothing was written") from exc
        except ImportFailed as exc:
            raise CommandError(f"{options['config'] or options['path']}: the catalog cannot be imported, "
                               "nothing was written:\n" + "\n".join(exc.problems)) from exc
        except KeyboardInterrupt:
            raise CommandError("interrupted: every batch written so far is kept; run the same command "
                               "again to go on from there") from None
        for line in result.lines():
            self.stdout.write(line)


class _Unbroken:
    """The command's stderr without the line ending Django adds to every write (the bar redraws
    one line)."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str, /) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()
