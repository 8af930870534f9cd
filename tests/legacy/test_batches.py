"""Batches of the sample copy stay short on a busy machine, so a writer beside the import gets in:
sized by how long they take, and a write past the lock's bound cut short and done again smaller."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from legacy import writer
from legacy.models import LegacyImport
from legacy.services import BATCH_TARGET_S, _next_batch
from tests.legacy.conftest import import_legacy
from tests.legacy.original_db import Plan, generate
from tests.legacy.test_resume import TABLES


def test_a_slow_batch_makes_the_next_one_short_enough_and_quick_ones_grow_back_to_the_setting() -> None:
    most = 10_000
    # A batch of 10,000 rows that held the lock 2 s: the next one is sized for the target.
    smaller = _next_batch(most, most, 2.0)
    assert smaller * 2.0 / most <= BATCH_TARGET_S[1] + 1e-9
    assert smaller >= 100
    # Quick batches double, never past the setting.
    sizes = [smaller]
    while sizes[-1] < most:
        sizes.append(_next_batch(sizes[-1], most, 0.01))
    assert sizes[-1] == most and len(sizes) < 10
    # A batch within the target keeps its size.
    assert _next_batch(5_000, most, 0.1) == 5_000


@pytest.mark.slow
def test_a_write_past_the_locks_bound_is_cut_short_and_redone_smaller_without_losing_a_row(
        transactional_db: None, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the write lock is SQLite's: PostgreSQL's row locks never stop polling's inserts")
    source = tmp_path / "solarhub.db"
    expected = generate(source, Plan(days=1, first_day=date(2026, 1, 10), inverter_step_s=60, pack_step_s=300,
                                     batteries=1, cells=4, array_rows=False))
    # Every write of more than the smallest batch holds the lock longer than this bound.
    settings.SOLARMON_LEGACY_MAX_HOLD_S = 1e-6
    monkeypatch.setattr(writer, "YIELD_S", 0.0)  # (the pauses between writes are not what is tried here)
    report = import_legacy(str(source))
    cut = re.search(r"\((\d+) sample writes", report)
    assert cut is not None and int(cut.group(1)) > 0, report
    for table, model in TABLES.items():
        assert model.objects.count() == expected[table], table
    assert LegacyImport.objects.get().finished_at is not None
