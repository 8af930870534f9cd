"""``manage.py read_device --type TYPE --config JSON [--identify]``: the "test connection" tool.

Reads one device once and prints one JSON object (identity and reading). On failure it
exits non-zero with one line naming the device and the cause.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adapters.errors import AdapterError
from adapters.registry import ADAPTER_TYPES
from adapters.tools import read_device


class Command(BaseCommand):
    help = "Read one device once and print its identity and normalized reading as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--type", required=True, choices=sorted(ADAPTER_TYPES), dest="adapter_type")
        parser.add_argument("--config", required=True,
                            help='adapter config as JSON, e.g. \'{"transport": "tcp", "host": "10.0.0.5"}\'')
        parser.add_argument("--identify", action="store_true", help="only identify (serial number, model)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = json.loads(options["config"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not valid JSON: {exc}") from None
        try:
            result = read_device(options["adapter_type"], config, identify_only=options["identify"])
        except AdapterError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result, indent=2, default=str))
