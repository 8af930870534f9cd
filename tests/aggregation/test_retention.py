"""Raw samples past the retention age go, but only from days whose tiers and rollups hold them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings

from aggregation import models as agg
from aggregation.retention import prune_raw_samples
from aggregation.rollups import rollup_day
from catalog import models as catalog
from telemetry import models as t
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=10)


def _samples_for_days(days: int) -> list[date]:
    """Samples at 06:00 and 12:00 UTC (the system's zone) on each of the last ``days`` days."""
    sys = f.system("system", timezone="UTC")
    inv = f.inverter("inv1", f.array("a1", sys))
    rows = [t.EnergySample(ts=NOW - timedelta(days=d, hours=h), inverter=inv, array_id="a1", system=sys,
                           pv_power_w=100) for d in range(days) for h in (0, 6)]
    t.EnergySample.objects.bulk_create(rows)
    return sorted({r.ts.date() for r in rows})


def _oldest() -> date:
    oldest = t.EnergySample.objects.order_by("ts").first()
    assert oldest is not None
    return oldest.ts.date()


def test_old_samples_of_days_held_by_tiers_and_rollups_are_pruned() -> None:
    for day in _samples_for_days(20):
        rollup_day("system", day)
    deleted = prune_raw_samples(now=NOW, keep_days=10)
    assert deleted["energy_samples"] == 19
    # Samples at d days and d days + 6 h ago, d = 0..19: those not older than 10 days stay.
    assert t.EnergySample.objects.filter(ts__lt=CUTOFF).count() == 0
    assert t.EnergySample.objects.count() == 21
    # What replaced them stays: every day's tiers and rollups.
    assert agg.InverterTier.objects.filter(ts__lt=CUTOFF).count() == 19
    assert agg.InverterDailySummary.objects.count() == 20


def test_a_day_an_earlier_prune_cut_into_keeps_its_tiers_and_goes_on_the_next_night() -> None:
    for day in _samples_for_days(20):
        rollup_day("system", day)
    prune_raw_samples(now=NOW, keep_days=10)  # the cutoff falls at noon: the day's 06:00 sample went
    cut = CUTOFF.date()
    assert t.EnergySample.objects.filter(ts__date=cut).count() == 1
    prune_raw_samples(now=NOW + timedelta(days=1), keep_days=10)
    assert not t.EnergySample.objects.filter(ts__date=cut).exists()
    # Never rolled up again from what was left of it: its tiers still hold both samples.
    assert agg.InverterTier.objects.filter(ts__date=cut).count() == 2


@override_settings(SOLARMON_RETENTION_BACKFILL_DAYS=3)
def test_days_rolled_up_before_tiers_existed_are_rolled_up_again_a_few_at_a_time() -> None:
    days = _samples_for_days(20)
    for day in days:  # rollups without tiers, as an older version wrote them
        agg.SystemDailySummary.objects.create(system_id="system", date=day, day_of_year=1, year=day.year)
    prune_raw_samples(now=NOW, keep_days=10)
    assert _oldest() == days[3]  # three days rolled up again and pruned; the fourth waits
    assert agg.InverterTier.objects.filter(ts__date__lt=days[3]).count() == 6
    prune_raw_samples(now=NOW, keep_days=10)
    assert _oldest() == days[6]


def test_a_sample_the_tiers_do_not_count_keeps_its_day_until_rolled_up_again() -> None:
    days = _samples_for_days(20)
    for day in days:
        rollup_day("system", day)
    late = datetime.combine(days[4], datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    t.EnergySample.objects.create(ts=late, inverter_id="inv1", array_id="a1", system_id="system",
                                  pv_power_w=7)
    with override_settings(SOLARMON_RETENTION_BACKFILL_DAYS=0):
        prune_raw_samples(now=NOW, keep_days=10)
    assert _oldest() == days[4]
    prune_raw_samples(now=NOW, keep_days=10)  # rolls the day again, then it may go
    assert _oldest() >= CUTOFF.date()
    assert agg.InverterTier.objects.filter(ts=late.replace(minute=0)).exists()


def test_a_dirty_day_is_not_pruned_until_rolled_again() -> None:
    days = _samples_for_days(20)
    for day in days:
        rollup_day("system", day)
    agg.DirtyDay.objects.create(system_id="system", date=days[2])
    prune_raw_samples(now=NOW, keep_days=10)
    assert _oldest() == days[2]


def test_nothing_goes_inside_the_retention_age() -> None:
    for day in _samples_for_days(5):
        rollup_day("system", day)
    assert sum(prune_raw_samples(now=NOW, keep_days=10).values()) == 0
    assert t.EnergySample.objects.count() == 10


@override_settings(SOLARMON_CELL_TIER_RETENTION_DAYS=30)
def test_cell_tiers_have_their_own_age_and_device_tiers_stay() -> None:
    sys = f.system("system", timezone="UTC")
    pack = f.pack("p1", f.battery_array("ba1", sys), batteries=1, cells=1)
    cell = catalog.BatteryCell.objects.get(battery__pack=pack)
    inv = f.inverter("inv1", f.array("a1", sys))
    for age in (40, 20):
        ts = NOW - timedelta(days=age)
        agg.CellTier.objects.create(ts=ts, cell=cell, pack=pack, sample_count=5, voltage_avg=3.3)
        agg.InverterTier.objects.create(ts=ts, inverter=inv, system=sys, sample_count=60)
    deleted = prune_raw_samples(now=NOW)
    assert deleted == {"battery_cell_samples_5min": 1}
    assert agg.InverterTier.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the file size of an SQLite database")
def test_pruning_gives_the_space_back_to_the_file_system() -> None:
    sys = f.system("system", timezone="UTC")
    inv = f.inverter("inv1", f.array("a1", sys))
    start = NOW - timedelta(days=12)
    rows = [t.EnergySample(ts=start + timedelta(seconds=5 * n), inverter=inv, array_id="a1", system=sys,
                           pv_power_w=n % 5000, load_power_w=400, grid_power_w=-n % 3000, soc=55.5)
            for n in range(2 * 17280)]  # two days of 5-second samples
    t.EnergySample.objects.bulk_create(rows, batch_size=2000)
    for day in {r.ts.date() for r in rows}:
        rollup_day("system", day)

    def pages() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA page_count")
            return int(cursor.fetchone()[0])

    before = pages()
    assert prune_raw_samples(now=NOW, keep_days=10)["energy_samples"] == len(rows)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA freelist_count")
        assert cursor.fetchone()[0] == 0
    assert pages() < before * 0.6


@pytest.mark.django_db
def test_a_day_cut_in_two_by_one_run_is_pruned_on_by_the_next_with_its_rollup_unchanged() -> None:
    from tests.aggregation.test_diskguard import NOW, ten_days_of_samples

    ten_days_of_samples()  # hourly samples, 13:00 ten days back to noon today
    for d in range(11):
        rollup_day("system", (NOW - timedelta(days=d)).date())
    day = (NOW - timedelta(days=9)).date()
    before = agg.SystemDailySummary.objects.get(date=day).pv_energy_kwh
    later = NOW + timedelta(minutes=7)  # retention runs at any time of day
    prune_raw_samples(now=later, keep_days=9)  # cuts the day nine days back at about noon
    assert t.EnergySample.objects.filter(ts__date=day).count() == 11  # 13:00 to 23:00 stay
    # A day on, the rest of it goes, as a day whose tiers hold it, not one to roll up again.
    with override_settings(SOLARMON_RETENTION_BACKFILL_DAYS=0):
        prune_raw_samples(now=later + timedelta(days=1), keep_days=9)
    assert not t.EnergySample.objects.filter(ts__date=day).exists()
    assert agg.SystemDailySummary.objects.get(date=day).pv_energy_kwh == pytest.approx(before)
