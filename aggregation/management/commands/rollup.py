"""``manage.py rollup [--from DATE --to DATE] [--system ID]``: recompute rollups for any range;
``manage.py rollup --recent``: run the periodic rollup once, in the foreground.

Dates are local dates of each system (default: yesterday and today in the system's timezone); a
range is recomputed from its raw samples, tiers included. Progress goes to stderr, one line per
day; the summary (rows written per table, time taken) to stdout. ``--recent`` runs exactly what
the beat task runs (aggregation.periodic) and prints what it read and wrote.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from aggregation import periodic
from aggregation.buckets import days_between, local_date
from aggregation.rollups import rollup_day
from catalog.models import System


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = "Recompute hourly and daily rollups for a range of local dates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", type=str, help="First local date, YYYY-MM-DD")
        parser.add_argument("--to", dest="last", type=str, help="Last local date, YYYY-MM-DD (inclusive)")
        parser.add_argument("--system", help="Only this system id")
        parser.add_argument("--recent", action="store_true",
                            help="Run the periodic rollup once (what arrived since its last run)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["recent"]:
            if options["first"] or options["last"] or options["system"]:
                raise CommandError("--recent takes no dates or system: it does what the periodic task does")
            for line in periodic.rollup_recent(timezone.now()).lines():
                self.stdout.write(line)
            return
        systems = System.objects.order_by("system_id")
        if options["system"]:
            systems = systems.filter(pk=options["system"])
            if not systems.exists():
                raise CommandError(f"no system {options['system']!r}")
        plan = [(s.pk, day) for s in systems for day in self._days(s, options)]
        began = time.monotonic()
        written: Counter[str] = Counter()
        for n, (system_id, day) in enumerate(plan, 1):
            written += rollup_day(system_id, day)
            self._progress(n, len(plan), f"{system_id} {day}")
        self.stderr.write("")
        for table in sorted(written):
            self.stdout.write(f"{table:<24} {written[table]:>8} rows")
        self.stdout.write(f"{len(plan)} system-days in {time.monotonic() - began:.1f} s")

    def _days(self, system: System, options: dict[str, Any]) -> list[date]:
        today = local_date(timezone.now(), ZoneInfo(system.timezone))
        first = _date(options["first"]) if options["first"] else None
        last = _date(options["last"]) if options["last"] else None
        # --from alone runs through today; --to alone is that one day; neither: yesterday and today.
        if first is None:
            first = last if last is not None else today - timedelta(days=1)
        last = last or today
        if last < first:
            raise CommandError("--to is before --from")
        return list(days_between(first, last))

    def _progress(self, done: int, total: int, label: str) -> None:
        width = 30
        filled = width * done // total if total else width
        self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}", ending="")
        self.stderr.flush()
