"""Raw samples past the retention age go, but only once their days are rolled up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from aggregation.models import DirtyDay, SystemDailySummary
from aggregation.retention import prune_raw_samples
from telemetry import models as t
from tests import factories as f

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _samples_for_days(days: int) -> None:
    sys = f.system("system", timezone="UTC")
    inv = f.inverter("inv1", f.array("a1", sys))
    rows = [t.EnergySample(ts=NOW - timedelta(days=d, hours=h), inverter=inv, array_id="a1", system=sys,
                           pv_power_w=100) for d in range(days) for h in (0, 6)]
    t.EnergySample.objects.bulk_create(rows)


def _rolled(*days: date) -> None:
    for day in days:
        SystemDailySummary.objects.create(system_id="system", date=day, day_of_year=day.timetuple().tm_yday,
                                          year=day.year)


def test_old_samples_of_rolled_up_days_are_pruned() -> None:
    _samples_for_days(20)
    _rolled(*[(NOW - timedelta(days=d)).date() for d in range(20)])
    deleted = prune_raw_samples(now=NOW, keep_days=10)
    assert deleted["energy_samples"] > 0
    assert t.EnergySample.objects.filter(ts__lt=NOW - timedelta(days=10)).count() == 0
    # Samples at d days and d days + 6 h ago, d = 0..19: those not older than 10 days stay.
    kept = [d for d in range(20) for h in (0, 6) if timedelta(days=d, hours=h) <= timedelta(days=10)]
    assert t.EnergySample.objects.count() == len(kept) == 21


def test_a_day_without_rollup_keeps_its_samples_and_everything_after() -> None:
    _samples_for_days(20)
    missing = (NOW - timedelta(days=15)).date()
    _rolled(*[day for d in range(20) if (day := (NOW - timedelta(days=d)).date()) != missing])
    prune_raw_samples(now=NOW, keep_days=10)
    oldest = t.EnergySample.objects.order_by("ts").first()
    assert oldest is not None and oldest.ts.date() == missing


def test_a_dirty_day_is_not_pruned_until_rolled_again() -> None:
    _samples_for_days(20)
    _rolled(*[(NOW - timedelta(days=d)).date() for d in range(20)])
    dirty = (NOW - timedelta(days=18)).date()
    DirtyDay.objects.create(system_id="system", date=dirty)
    prune_raw_samples(now=NOW, keep_days=10)
    oldest = t.EnergySample.objects.order_by("ts").first()
    assert oldest is not None and oldest.ts.date() == dirty


def test_nothing_goes_inside_the_retention_age() -> None:
    _samples_for_days(5)
    _rolled(*[(NOW - timedelta(days=d)).date() for d in range(5)])
    assert sum(prune_raw_samples(now=NOW, keep_days=10).values()) == 0
    assert t.EnergySample.objects.count() == 10
