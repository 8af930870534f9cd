"""``manage.py simulate TYPE [options]``: run one device simulator in the foreground.

Examples: ``simulate powdrive --tcp 5020``, ``simulate senergy --rtu`` (prints its pty
path), ``simulate pytes``, ``simulate jkbms_tcpip --tcp 5022``. ``simulate TYPE --help``
lists each simulator's options.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adapters.errors import ConfigError
from adapters.registry import ADAPTER_TYPES
from adapters.simulators.cli import run_simulator


class Command(BaseCommand):
    help = "Run a device simulator that speaks TYPE's real protocol (see `simulate TYPE --help`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("adapter_type", choices=sorted(ADAPTER_TYPES))
        parser.add_argument("simulator_args", nargs="...", help="options of that simulator")

    def run_from_argv(self, argv: list[str]) -> None:
        # Everything after TYPE belongs to the simulator, including --help.
        if len(argv) > 2 and argv[2] in ADAPTER_TYPES:
            self._run(argv[2], argv[3:])
            return
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        self._run(options["adapter_type"], list(options["simulator_args"]))

    def _run(self, adapter_type: str, argv: list[str]) -> None:
        try:
            status = run_simulator(adapter_type, argv)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        if status:
            raise CommandError(f"the {adapter_type} simulator exited with status {status}")
