"""What one periodic run costs and touches: nothing but its bookkeeping when nothing is new, only
the slots around late samples when some arrive, and the same rows as a full recomputation."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aggregation import models as agg
from aggregation.periodic import rollup_recent
from aggregation.rollups import rollup_day
from telemetry import ingest
from tests.aggregation.conftest import make_site
from tests.aggregation.plantdata import Arrivals, quarter_hours
from tests.aggregation.test_incremental import ROLLUPS, assert_same, snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

ZONE = ZoneInfo("Europe/Berlin")
BOOKKEEPING = {"rollup_watermarks", "rollup_dirty_days"}


def _tables(statement: str) -> set[str]:
    return set(re.findall(r'(?:FROM|JOIN|INTO|UPDATE)\s+"?(\w+)"?', statement, re.IGNORECASE))


def test_a_run_with_nothing_new_writes_nothing_and_reads_only_its_bookkeeping() -> None:
    site = make_site("Europe/Berlin")
    start = datetime(2025, 6, 10, 10, tzinfo=ZONE)
    now = start + timedelta(hours=1, minutes=5)
    Arrivals(site, start, now).until(now)
    first = rollup_recent(now)
    assert first.slots and first.written
    before = snapshot()

    with CaptureQueriesContext(connection) as queries:
        again = rollup_recent(now)
    assert again.slots == 0 and not again.read and not again.written
    statements = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in statements if re.match(r"\s*(INSERT|UPDATE|DELETE)", s, re.IGNORECASE)]
    touched = set().union(*(_tables(s) for s in statements))
    rollup_tables = {model._meta.db_table for model in ROLLUPS}
    sample_tables = {"energy_samples", "meter_samples", "battery_bank_samples", "battery_cell_samples",
                     "array_samples", "system_samples"}
    assert BOOKKEEPING <= touched
    assert not touched & (rollup_tables | sample_tables)
    # The system, whether its catalog changed, and one query for watermarks and late samples.
    assert len(statements) <= 3, statements
    assert snapshot() == before


def test_a_late_sample_re_rolls_its_hour_and_day_at_every_level_and_nothing_else(
        django_capture_on_commit_callbacks: Any) -> None:
    site = make_site("Europe/Berlin")
    start = datetime(2025, 6, 10, 8, tzinfo=ZONE)
    arrivals = Arrivals(site, start, start + timedelta(hours=3))
    gap = (start + timedelta(hours=1, minutes=20), start + timedelta(hours=1, minutes=24))
    missing = [rows for ts, rows in arrivals.rows if gap[0] <= ts < gap[1]]
    arrivals.rows = [(ts, rows) for ts, rows in arrivals.rows if rows not in missing]
    runs = quarter_hours(start, start + timedelta(hours=3, minutes=20))
    for now in runs:
        arrivals.until(now)
        rollup_recent(now)
    late_hour = agg.SystemHourlyEnergy.objects.get(date=start.date(), hour_start=9)
    assert late_hour.coverage < 0.95
    stamps = {model._meta.db_table: dict(model._default_manager.values_list("pk", "updated_at"))
              for model in (agg.InverterHourlyEnergy, agg.ArrayHourlyEnergy, agg.SystemHourlyEnergy,
                            agg.MeterHourlyEnergy, agg.BatteryBankHourly)}

    with django_capture_on_commit_callbacks(execute=True):
        for rows in missing:
            ingest.write_rows(rows)
    report = rollup_recent(runs[-1] + timedelta(minutes=15))
    assert report.dirty_days == 1 and not agg.DirtyDay.objects.exists()

    # Every level's hour of the late samples is complete again, and only that hour was rewritten.
    for model in (agg.InverterHourlyEnergy, agg.ArrayHourlyEnergy, agg.SystemHourlyEnergy,
                  agg.MeterHourlyEnergy, agg.BatteryBankHourly):
        for pk, updated in model._default_manager.values_list("pk", "updated_at"):
            row = model._default_manager.get(pk=pk)
            if row.hour_start == 9:
                assert row.coverage == pytest.approx(1.0, abs=0.01), model
                assert updated > stamps[model._meta.db_table][pk], model
            elif pk in stamps[model._meta.db_table]:
                assert updated == stamps[model._meta.db_table][pk], (model, row.hour_start)
    system_day = agg.SystemDailySummary.objects.get(date=start.date())
    incremental = snapshot()

    for model in ROLLUPS:
        model._default_manager.all().delete()
    rollup_day("system", start.date())
    assert_same(incremental, snapshot())
    assert agg.SystemDailySummary.objects.get(date=start.date()).pv_energy_kwh == pytest.approx(
        system_day.pv_energy_kwh, rel=1e-9)


@pytest.mark.parametrize("day", [datetime(2025, 3, 30, tzinfo=ZONE), datetime(2025, 10, 26, tzinfo=ZONE)],
                         ids=["spring", "autumn"])
def test_periodic_runs_over_a_dst_night_give_the_rows_of_one_full_recomputation(day: datetime) -> None:
    site = make_site("Europe/Berlin")
    end = day.replace(hour=4)
    arrivals = Arrivals(site, day, end, step_s=20)
    for now in quarter_hours(day, end + timedelta(minutes=30)):
        arrivals.until(now)
        rollup_recent(now)
    incremental = snapshot()
    hours = sorted(agg.SystemHourlyEnergy.objects.filter(date=day.date()).values_list("hour_start", "fold"))
    # Spring: 02:00 does not exist; autumn: 02:00 twice.
    expected = [(0, 0), (1, 0), (3, 0)] if day.month == 3 else [(0, 0), (1, 0), (2, 0), (2, 1), (3, 0)]
    assert hours == expected

    for model in ROLLUPS:
        model._default_manager.all().delete()
    rollup_day("system", day.date())
    rollup_day("system", day.date() - timedelta(days=1))
    assert_same(incremental, snapshot())
