"""``manage.py discover --once [--ports GLOB ...]``: one discovery run in the foreground, as a table."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from discovery.tasks import run_discovery_once


class Command(BaseCommand):
    help = ("Scan serial ports once: verify known devices, rebind moved ones, configure new ones. "
            "Prints port, what answered, device, serial number and the action taken.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", required=True,
                            help="run once and exit (periodic runs happen in the Celery worker)")
        parser.add_argument("--ports", nargs="+", metavar="GLOB",
                            help="only these ports (globs, e.g. '/dev/ttyUSB*' or a pty path)")
        parser.add_argument("--respect-backoff", action="store_true",
                            help="skip silent/garbage ports still waiting (by default a manual run "
                            "probes every port)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = run_discovery_once(options.get("ports"), respect_port_backoff=options["respect_backoff"])
        if report.skipped_reason:
            raise CommandError(report.skipped_reason)
        if not report.lines:
            self.stdout.write("no serial ports found (see SOLARMON_DISCOVERY_INCLUDE_GLOBS or --ports)")
            return
        self.stdout.write(report.table())
