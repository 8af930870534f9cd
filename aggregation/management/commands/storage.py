"""``manage.py storage [--json]``: sizes, growth, retention and days until the disk is full.

Prints each table's rows and size (with its indexes), its rows and MB per day over the last
day, how long it is kept; the retention, tier and disk guard settings; the data disk's free
space; and, at the current rate, the days until the disk guard starts pruning early and until
the disk is full. On SQLite it reads every page of the database once.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from aggregation.diskguard import human_size
from aggregation.storage_report import StorageReport, TableUsage, split_tables, storage_report

MB = 1024 * 1024


class Command(BaseCommand):
    help = "Show table sizes, growth per day, retention settings, free space and days until the disk is full."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = storage_report()
        if options["json"]:
            self.stdout.write(json.dumps(report_dict(report), indent=2, default=str))
            return
        for line in report_lines(report):
            self.stdout.write(line)


def report_dict(report: StorageReport) -> dict[str, Any]:
    return {
        "database": {"vendor": report.vendor, "name": report.database, "bytes": report.database_bytes,
                     "reusable_bytes": report.status.volume.reusable_bytes},
        "tables": [{"table": t.table, "rows": t.rows, "rows_exact": t.rows_exact, "bytes": t.size_bytes,
                    "rows_per_day": t.rows_per_day, "bytes_per_day": t.bytes_per_day, "kept_by": t.window,
                    "kept_days": t.window_days if t.window else None,
                    "window_days_left": t.window_days_left if t.window else None} for t in report.tables],
        "growth": {"measured_hours": report.measured_hours, "rows_per_day": report.growth_rows_per_day,
                   "bytes_per_day": report.growth_bytes_per_day},
        "retention_settings": dict(report.retention_settings),
        "disk": report.status.as_dict(),
        "days_until_guard": report.days_until_guard,
        "days_until_full": report.days_until_full,
        "notes": report.notes,
    }


def report_lines(report: StorageReport) -> list[str]:
    db = report.status.volume
    lines = [f"Database: {report.vendor} {report.database}, {human_size(report.database_bytes)}"
             + (f" ({human_size(db.reusable_bytes)} of free pages inside, reused first)" if db.reusable_bytes
                else ""), ""]
    lines.append(f"{'table':<32} {'rows':>13} {'MB':>9} {'rows/day':>11} {'MB/day':>8}  kept")
    shown, others = split_tables(report.tables)
    lines += [_table_line(t) for t in shown]
    if others:
        size = sum(t.size_bytes or 0 for t in others) / MB
        lines.append(f"{f'{len(others)} other tables':<32} {sum(t.rows for t in others):>13,} {size:>9.1f}")
    lines.append(f"{'total':<32} {sum(t.rows for t in report.tables):>13,} "
                 f"{report.database_bytes / MB:>9.1f} {report.growth_rows_per_day:>11,.0f} "
                 f"{report.growth_bytes_per_day / MB:>8.2f}")
    lines.append(f"Growth measured over the last {report.measured_hours:.1f} h"
                 + (" (the data is younger than a day)." if report.measured_hours < 23.9 else "."))
    lines += report.notes
    lines += ["", "Retention, tiers and the disk guard:"]
    lines += [f"  {name:<36} {value}" for name, value in report.retention_settings]
    lines += ["", f"Data disk {db.path}: {human_size(db.free_bytes)} free of {human_size(db.total_bytes)}; "
              f"the disk guard keeps {human_size(report.status.threshold_bytes)} free.",
              f"Status: {report.status.level}. {report.status.message}".rstrip(), _outlook(report)]
    return lines


def _table_line(t: TableUsage) -> str:
    rows = f"{t.rows:,}" if t.rows_exact else f"~{t.rows:,}"
    size = "-" if t.size_bytes is None else f"{t.size_bytes / MB:.1f}"
    per_day = "-" if t.rows_per_day is None else f"{t.rows_per_day:,.0f}"
    mb_day = "-" if t.bytes_per_day is None else f"{t.bytes_per_day / MB:.2f}"
    if t.window:
        kept = f"{t.window_days:g} days ({t.window})" + (
            f", window full in {t.window_days_left:.1f} days" if t.window_days_left else "")
    else:
        kept = "for good" if t.rows_per_day is not None else ""
    return f"{t.table:<32} {rows:>13} {size:>9} {per_day:>11} {mb_day:>8}  {kept}".rstrip()


def _outlook(report: StorageReport) -> str:
    if not report.status.volume.holds_database:
        return "The database is not on the data disk: days until full are not known here."
    full, guard = report.days_until_full, report.days_until_guard
    if full is None:
        return ("At the current rate the disk never fills: the tables stop growing once their retention "
                "is full.")
    if guard is None or guard <= 0:
        return f"At the current rate the disk is full in {full:.1f} days."
    return (f"At the current rate the disk guard starts pruning early in {guard:.1f} days, and the disk "
            f"is full in {full:.1f} days.")
