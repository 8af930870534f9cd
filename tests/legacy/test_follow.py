"""The rollups computed beside the copy (legacy.follow) are the days' own, also when the file's rows
are not in time order: a day the copy has passed gets rows again later in the file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregation import tier_models as tm
from aggregation.rollups import rollup_day
from legacy.models import LegacyImport
from telemetry import models as t
from tests.legacy.conftest import import_legacy
from tests.legacy.original_db import Plan, generate
from tests.legacy.test_rollups_match import _snapshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _move_to_the_end(source: Path, table: str, first: str, last: str) -> int:
    """Rows of ``table`` with ts in [first, last) moved to the end of the file's table (new rowids),
    as a clock set back or a merged file would leave them; how many."""
    conn = sqlite3.connect(source, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(f"CREATE TEMP TABLE moved AS SELECT * FROM {table} WHERE ts >= ? AND ts < ? ORDER BY rowid",
                 (first, last))
    conn.execute(f"DELETE FROM {table} WHERE ts >= ? AND ts < ?", (first, last))
    moved = conn.execute(f"INSERT INTO {table} SELECT * FROM temp.moved").rowcount
    conn.execute("COMMIT")
    conn.close()
    return int(moved)


def test_rows_of_a_day_that_come_late_in_the_file_are_in_that_days_rollups(
        transactional_db: None, tmp_path: Path, settings: Any) -> None:
    source = tmp_path / "solarhub.db"
    expected = generate(source, Plan(days=3, first_day=date(2026, 1, 10), batteries=1, cells=4))
    # Cells of an afternoon of the first day come after every other cell row.
    moved = _move_to_the_end(source, "battery_cell_samples", "2026-01-10 14", "2026-01-10 16")
    assert moved > 0
    settings.SOLARMON_LEGACY_BATCH_ROWS = 500
    import_legacy(str(source))
    assert LegacyImport.objects.get().finished_at is not None
    assert t.BatteryCellSample.objects.count() == expected["battery_cell_samples"]
    imported = _snapshot()
    # The cells of the moved afternoon are in their day's cell tiers.
    slots = tm.CellTier.objects.filter(ts__gte=datetime(2026, 1, 10, 9, tzinfo=UTC),
                                       ts__lt=datetime(2026, 1, 10, 11, tzinfo=UTC)).count()
    assert slots == 4 * 24
    for day in (date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)):
        rollup_day("system", day)
    recomputed = _snapshot()
    for table, rows in imported.items():
        assert rows == recomputed[table], table
