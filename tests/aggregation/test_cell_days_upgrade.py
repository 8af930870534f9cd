"""Upgrading a database that has cell tiers: the migration sums up every stored day of every cell."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

BEFORE = [("aggregation", "0004_imported_hours_recorded_intervals")]
AFTER = [("aggregation", "0005_cell_index_and_cell_daily")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def test_the_upgrade_sums_up_the_stored_cell_tiers_per_local_day() -> None:
    old = _migrate(BEFORE)
    try:
        get = old.get_model
        sys = get("catalog", "System").objects.create(system_id="system", name="S",
                                                      timezone="America/New_York")
        ba = get("catalog", "BatteryArray").objects.create(battery_array_id="ba1", system=sys, name="B")
        pack = get("catalog", "BatteryPack").objects.create(pack_id="p1", battery_array=ba, system=sys,
                                                            name="P")
        bat = get("catalog", "Battery").objects.create(battery_id="p1_b0", pack=pack, battery_array=ba,
                                                       system=sys, battery_index=0)
        cells = [get("catalog", "BatteryCell").objects.create(
            cell_id=f"p1_b0_c{i}", battery=bat, pack=pack, battery_array=ba, system=sys, cell_index=i)
            for i in range(2)]
        # A day of slots from 03:00 UTC on 1 June: 23:00 of 31 May in New York to 23:00 of 1 June.
        first = datetime(2025, 6, 1, 3, tzinfo=UTC)
        rows = []
        for slot in range(24 * 12):
            ts = first + timedelta(minutes=5 * slot)
            for cell in cells:
                low = 3.01 if (cell.cell_index == 1 and slot == 30) else 3.2 + cell.cell_index / 100
                rows.append(get("aggregation", "CellTier")(
                    ts=ts, cell=cell, pack=pack, sample_count=30, voltage_avg=3.25, voltage_min=low,
                    voltage_max=3.3, temperature_avg=25.0, temperature_min=24.0, temperature_max=26.0))
        get("aggregation", "CellTier").objects.bulk_create(rows)
        new = _migrate(AFTER)
        days = {(r.cell_id, r.date): r for r in new.get_model("aggregation", "CellDaily").objects.all()}
        assert sorted({d for _, d in days}) == [date(2025, 5, 31), date(2025, 6, 1)]
        sagged = days["p1_b0_c1", date(2025, 6, 1)]
        assert sagged.voltage_min == pytest.approx(3.01)
        assert sagged.voltage_min_at == first + timedelta(minutes=150)
        assert sagged.sample_count == 30 * 12 * 23  # its first 23 hours
        assert days["p1_b0_c0", date(2025, 5, 31)].sample_count == 30 * 12  # its last hour
        assert days["p1_b0_c0", date(2025, 6, 1)].voltage_min == pytest.approx(3.2)
        assert days["p1_b0_c0", date(2025, 6, 1)].temperature_max == pytest.approx(26.0)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
