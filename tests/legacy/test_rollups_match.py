"""The import's rollups are solarmon's own: every tier, cell day and rollup row it writes is what
``rollup_day`` (the periodic path's recomputation of a day) computes from the same samples."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, models

from aggregation import models as am
from aggregation import tier_models as tm
from aggregation.rollups import rollup_day
from legacy import writer
from legacy.models import LegacyImport
from tests.legacy.conftest import import_legacy
from tests.legacy.original_db import Plan, generate

pytestmark = pytest.mark.slow

COMPARED: tuple[type[models.Model], ...] = (
    *tm.TIER_MODELS, tm.CellDaily, am.InverterHourlyEnergy, am.ArrayHourlyEnergy, am.SystemHourlyEnergy,
    am.InverterDailySummary, am.ArrayDailySummary, am.SystemDailySummary, am.MeterHourlyEnergy, am.MeterDaily,
    am.BatteryBankHourly, am.BatteryBankDaily)
# When a row was written, not what it says.
WHEN = {"created_at", "updated_at"}


def _rows(model: type[models.Model]) -> list[tuple[Any, ...]]:
    names = [f.attname for f in model._meta.concrete_fields if f.attname not in WHEN]
    # Rounded: PostgreSQL may sum the same values in another order (the last bit differs).
    return sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                  for row in model._default_manager.values_list(*names))


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    return {model._meta.db_table: _rows(model) for model in COMPARED}


@pytest.mark.parametrize("bound_s", [None, 1e-6], ids=["unbounded", "every write past the bound"])
def test_the_imported_days_tiers_cell_days_and_rollups_are_what_rollup_day_computes(
        transactional_db: None, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch,
        bound_s: float | None) -> None:
    source = tmp_path / "solarhub.db"
    generate(source, Plan(days=2, first_day=date(2026, 1, 10), meter_step_s=30, batteries=1, cells=4))
    if bound_s is not None:
        # Every write holds SQLite's lock past this bound: each day's rollups are written in pieces
        # (a tier write cut short is redone in quarters of its range, down to single slots).
        if connection.vendor != "sqlite":
            pytest.skip("the write lock is SQLite's")
        settings.SOLARMON_LEGACY_MAX_HOLD_S = bound_s
        monkeypatch.setattr(writer, "YIELD_S", 0.0)  # (the pauses between writes are not tried here)
    report = import_legacy(str(source))
    if bound_s is not None:
        cut = re.search(r"(\d+) rollup writes cut short at the lock's bound", report)
        assert cut is not None and int(cut.group(1)) > 0, report
    assert LegacyImport.objects.get().finished_at is not None
    imported = _snapshot()
    days = sorted({row.date for row in am.InverterDailySummary.objects.all()})
    assert len(days) >= 2
    # Every imported day has its cells' days (what the weakest cell of whole days reads).
    cell_days = {(row.date, row.cell_id) for row in tm.CellDaily.objects.all()}
    assert {on for on, _ in cell_days} == set(days)
    assert len(cell_days) == 4 * len(days)
    for day in days:
        rollup_day("system", day)
    recomputed = _snapshot()
    for table, rows in imported.items():
        # Every kind of device is in the file (the original kept no system samples).
        assert rows or table == tm.SystemTier._meta.db_table, f"{table}: the import wrote no rows"
        assert rows == recomputed[table], table
