"""The periodic rollup reads only what arrived since its last run, and ends with the rows of a full
recomputation: every level, every hour, DST days and late samples included."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from aggregation import models as agg
from aggregation.periodic import rollup_recent
from aggregation.rollups import rollup_day
from telemetry import ingest
from telemetry import models as t
from tests.aggregation.conftest import make_site
from tests.aggregation.plantdata import Arrivals, quarter_hours

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

ROLLUPS: tuple[Any, ...] = (
    agg.InverterHourlyEnergy, agg.ArrayHourlyEnergy, agg.SystemHourlyEnergy, agg.MeterHourlyEnergy,
    agg.BatteryBankHourly, agg.InverterDailySummary, agg.ArrayDailySummary, agg.SystemDailySummary,
    agg.MeterDaily, agg.BatteryBankDaily, *agg.TIER_MODELS)
SKIP = {"pk", "created_at", "updated_at"}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for model in ROLLUPS:
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in SKIP]
        out[model._meta.db_table] = [tuple(row) for row in model._default_manager.order_by("pk")
                                     .values_list(*fields)]
    return out


def assert_same(a: dict[str, list[tuple[Any, ...]]], b: dict[str, list[tuple[Any, ...]]]) -> None:
    assert a.keys() == b.keys()
    for table in a:
        assert len(a[table]) == len(b[table]), table
        for row_a, row_b in zip(a[table], b[table], strict=True):
            for va, vb in zip(row_a, row_b, strict=True):
                expected = pytest.approx(vb, rel=1e-9, abs=1e-9) if isinstance(vb, float) else vb
                assert va == expected, (table, row_a, row_b)


def assert_same_as_full_recomputation(day: date) -> None:
    """The rows the periodic runs left are those of a full recomputation of ``day`` and the day before."""
    incremental = snapshot()
    assert incremental["hourly_energy"], "the runs wrote hours"
    for row_model in ROLLUPS:
        row_model._default_manager.all().delete()
    rollup_day("system", day)
    rollup_day("system", day - timedelta(days=1))
    assert_same(incremental, snapshot())


@pytest.mark.parametrize("tz, day", [("Asia/Karachi", date(2025, 6, 10)),
                                     ("Europe/Berlin", date(2025, 10, 26))], ids=["karachi", "berlin-autumn"])
def test_a_days_periodic_runs_end_with_the_rows_of_one_full_recomputation(tz: str, day: date) -> None:
    site = make_site(tz)
    zone = ZoneInfo(tz)
    # The small hours of the day (the repeated hour in Berlin), samples appearing as they are taken.
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = datetime(day.year, day.month, day.day, 5, tzinfo=zone)
    arrivals = Arrivals(site, start, end)
    runs = quarter_hours(start, end + timedelta(minutes=30))
    for now in runs:
        arrivals.until(now)
        rollup_recent(now)
    assert_same_as_full_recomputation(day)
    if tz == "Europe/Berlin":
        folds = agg.InverterHourlyEnergy.objects.filter(date=day, hour_start=2).values_list("fold", flat=True)
        assert sorted(folds) == [0, 1]


@pytest.mark.parametrize("tz", ["Asia/Kolkata", "Europe/Berlin"])
def test_closing_whole_hours_only_ends_with_the_rows_of_one_full_recomputation(tz: str, settings: Any
                                                                              ) -> None:
    settings.SOLARMON_ROLLUP_WHOLE_HOURS = True
    site = make_site(tz)
    zone = ZoneInfo(tz)
    day = date(2025, 10, 26)  # Berlin's repeated hour; Kolkata's hours start at half past, UTC
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = datetime(day.year, day.month, day.day, 5, tzinfo=zone)
    arrivals = Arrivals(site, start, end)
    runs, working = quarter_hours(start, end + timedelta(minutes=30)), 0
    for now in runs:
        arrivals.until(now)
        report = rollup_recent(now)
        working += bool(report.slots)
        mark = agg.RollupWatermark.objects.get(device_id="inv1").closed_until.astimezone(zone)
        assert (mark.minute, mark.second) == (0, 0), mark  # a local hour's end
        assert not report.slots or report.slots % 12 == 0
    hours = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 3600  # Berlin: 6
    assert working <= hours + 1 < len(runs) / 3  # a run an hour does the work
    assert_same_as_full_recomputation(day)


KARACHI = ZoneInfo("Asia/Karachi")


def _a_days_reads() -> dict[datetime, int]:
    """The energy samples each periodic run of a day reads (30-second samples arriving as they go)."""
    site = make_site("Asia/Karachi")
    start = datetime(2025, 6, 10, tzinfo=KARACHI)
    arrivals = Arrivals(site, start - timedelta(hours=1), start + timedelta(hours=24), step_s=30)
    reads = {}
    for now in quarter_hours(start - timedelta(minutes=30), start + timedelta(hours=24)):
        arrivals.until(now)
        reads[now] = rollup_recent(now).read["energy_samples"]
    return reads


def test_each_run_reads_what_arrived_since_the_last_one(settings: Any) -> None:
    settings.SOLARMON_ROLLUP_WHOLE_HOURS = False  # every run closes its due slots
    reads = _a_days_reads()
    early = reads[datetime(2025, 6, 10, 0, 20, tzinfo=KARACHI)]
    late = reads[datetime(2025, 6, 10, 23, 50, tzinfo=KARACHI)]
    # 15 minutes of 30-second samples, plus the few before and after each slot a booking needs.
    assert 30 <= early <= 45 and 30 <= late <= 45
    assert sum(reads.values()) < 1.3 * t.EnergySample.objects.count()


def test_with_whole_hours_the_run_at_5_past_reads_the_hour_and_the_others_nothing() -> None:
    reads = _a_days_reads()
    early = reads[datetime(2025, 6, 10, 1, 5, tzinfo=KARACHI)]
    late = reads[datetime(2025, 6, 10, 23, 5, tzinfo=KARACHI)]
    # An hour of 30-second samples, plus the few before and after each slot a booking needs.
    assert 120 <= early <= 135 and 120 <= late <= 135
    assert all(n == 0 for at, n in reads.items() if at.astimezone(KARACHI).minute != 5)
    assert sum(reads.values()) < 1.3 * t.EnergySample.objects.count()


def test_a_late_sample_is_rolled_up_with_the_slots_around_it(django_capture_on_commit_callbacks: Any) -> None:
    site = make_site("Asia/Karachi")
    zone = ZoneInfo("Asia/Karachi")
    start = datetime(2025, 6, 10, 10, tzinfo=zone)
    arrivals = Arrivals(site, start, start + timedelta(hours=2))
    gap = (start + timedelta(minutes=20), start + timedelta(minutes=25))
    missing = [rows for ts, rows in arrivals.rows if gap[0] <= ts < gap[1]]
    arrivals.rows = [(ts, rows) for ts, rows in arrivals.rows if rows not in missing]
    now = start + timedelta(hours=2, minutes=5)
    arrivals.until(now)
    rollup_recent(now)
    hour = agg.InverterHourlyEnergy.objects.get(inverter_id="inv1", date=start.date(), hour_start=10)
    assert hour.coverage == pytest.approx(55 / 60, abs=0.01)  # five minutes missing

    with django_capture_on_commit_callbacks(execute=True):
        for rows in missing:
            ingest.write_rows([rows[0]])
    mark = agg.DirtyDay.objects.get(system_id="system", date=start.date())
    assert mark.first_ts is not None and mark.first_ts >= start + timedelta(minutes=20)
    report = rollup_recent(now + timedelta(minutes=15))
    hour.refresh_from_db()
    assert hour.coverage == pytest.approx(1.0)
    assert report.dirty_days == 1 and not agg.DirtyDay.objects.exists()
    assert report.read["energy_samples"] < 200  # the slots around the late samples, not the day


def test_the_recent_command_runs_the_periodic_rollup_and_says_what_it_did() -> None:
    site = make_site("Asia/Karachi")
    zone = ZoneInfo("Asia/Karachi")
    now = datetime.now(zone).replace(second=0, microsecond=0)
    # Two hours: whatever the minute, a whole local hour of samples is due (whole hours are closed).
    arrivals = Arrivals(site, now - timedelta(hours=2), now)
    arrivals.until(now)
    out = io.StringIO()
    call_command("rollup", "--recent", stdout=out)
    text = out.getvalue()
    assert "5-minute slot(s) closed" in text
    assert "read  energy_samples" in text and "wrote energy_samples_5min" in text
    assert agg.RollupWatermark.objects.filter(device_id="inv1").exists()
    assert agg.InverterHourlyEnergy.objects.filter(inverter_id="inv1").exists()
