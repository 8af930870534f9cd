"""``manage.py poll --once``: poll every enabled device once, in the foreground, and print a table."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from telemetry.derive import derive_samples
from telemetry.polling import close_readers, device_refs, poll_device, slot_for


class Command(BaseCommand):
    help = ("Poll every enabled device of this collector once and print device, adapter, status, "
            "duration and rows.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", required=True,
                            help="poll once and exit (continuous polling runs in the Celery worker)")
        parser.add_argument("--system", help="only this system's devices")

    def handle(self, *args: Any, **options: Any) -> None:
        every = device_refs(options.get("system"))
        if not every:
            raise CommandError("no enabled device with an adapter: run discovery or import a config")
        # Only this host's devices: another collector's serial ports are on another machine.
        me = settings.SOLARMON_COLLECTOR
        refs = [ref for ref in every if ref.owner == me]
        others = sorted({f"{ref.owner}" for ref in every if ref.owner != me})
        if others:
            self.stdout.write(f"{len(every) - len(refs)} devices belong to other collectors "
                              f"({', '.join(others)}): poll them there")
        if not refs:
            raise CommandError(f"no device belongs to collector {me} (SOLARMON_COLLECTOR)")
        now = timezone.now()
        rows = [("device", "adapter", "status", "ms", "rows", "error")]
        systems: dict[str, Any] = {}
        failures = 0
        try:
            for ref in refs:
                slot = slot_for(now, ref.interval_s, ref.system_id)
                out = poll_device(ref, slot)
                failures += not out.ok
                if out.ok:
                    systems[ref.system_id] = max(systems.get(ref.system_id, slot), slot)
                rows.append((f"{ref.kind} {ref.device_id}", out.adapter_id or "-",
                             "ok" if out.ok else "FAILED", str(out.duration_ms),
                             f"{out.written}/{out.rows}", out.error))
            for system_id, slot in systems.items():
                derive_samples(system_id, slot)
        finally:
            close_readers()
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for row in rows:
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=True)) +
                              (f"  {row[5]}" if row[5] else ""))
        self.stdout.write(f"{len(refs) - failures} of {len(refs)} devices read")
