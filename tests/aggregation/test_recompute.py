"""Rollups are idempotent, late samples are rolled up again, and the command recomputes ranges."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from aggregation import models as agg
from aggregation.periodic import rollup_recent
from aggregation.rollups import rollup_day
from telemetry import ingest
from telemetry import models as t
from tests.aggregation.helpers import insert, steady_inverter, steady_pack

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

TZ = ZoneInfo("Asia/Karachi")
DAY = date(2025, 6, 10)
START = datetime(2025, 6, 10, 10, tzinfo=TZ)


def snapshot() -> list[tuple[Any, ...]]:
    rows = []
    for model in (agg.InverterHourlyEnergy, agg.InverterDailySummary, agg.SystemHourlyEnergy,
                  agg.BatteryBankHourly, agg.BatteryBankDaily):
        for obj in model.objects.order_by("pk"):
            rows.append(tuple(getattr(obj, f.attname) for f in model._meta.concrete_fields
                              if f.name not in ("pk", "updated_at", "created_at")))
    return rows


def test_rolling_a_day_twice_gives_the_same_rows(site: dict[str, Any]) -> None:
    insert(steady_inverter(site["inverter"], START, START + timedelta(hours=2, seconds=-10), pv_power_w=1500),
           steady_pack(site["pack"], START, START + timedelta(hours=2, seconds=-10), power_w=-1000, soc=60.0))
    rollup_day("system", DAY)
    first = snapshot()
    rollup_day("system", DAY)
    assert snapshot() == first
    assert len([r for r in first if r]) == 2 + 1 + 2 + 2 + 1


def test_a_late_sample_marks_its_day_and_the_periodic_rollup_recomputes_it(
        site: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    inv = site["inverter"]
    # 10:00-10:40 arrive on time; 10:40-11:00 is missing when the day is first rolled.
    insert(steady_inverter(inv, START, START + timedelta(minutes=40), pv_power_w=1200))
    rollup_day("system", DAY)
    before = agg.InverterHourlyEnergy.objects.get(inverter_id="inv1", date=DAY, hour_start=10)
    assert before.coverage == pytest.approx(40 / 60)

    with django_capture_on_commit_callbacks(execute=True):
        for row in steady_inverter(inv, START + timedelta(minutes=40, seconds=10), START + timedelta(hours=1),
                                   pv_power_w=1200):
            ingest.write_rows([row])
    assert agg.DirtyDay.objects.filter(system_id="system", date=DAY).exists()

    rollup_recent(START + timedelta(hours=3))
    after = agg.InverterHourlyEnergy.objects.get(inverter_id="inv1", date=DAY, hour_start=10)
    assert after.coverage == pytest.approx(1.0)
    assert after.solar_energy_kwh == pytest.approx(1.2)
    assert not agg.DirtyDay.objects.exists()


def test_rows_of_samples_that_are_gone_are_removed_on_recompute(site: dict[str, Any]) -> None:
    insert(steady_inverter(site["inverter"], START, START + timedelta(hours=1), pv_power_w=1000))
    rollup_day("system", DAY)
    assert agg.InverterHourlyEnergy.objects.exists()
    t.EnergySample.objects.all().delete()
    rollup_day("system", DAY)
    assert not agg.InverterHourlyEnergy.objects.exists()
    assert not agg.SystemDailySummary.objects.exists()


def test_rollup_command_recomputes_a_range_and_reports_rows_per_table(site: dict[str, Any]) -> None:
    insert(steady_inverter(site["inverter"], START, START + timedelta(hours=2, seconds=-10), pv_power_w=1000))
    out, err = io.StringIO(), io.StringIO()
    call_command("rollup", "--from", "2025-06-09", "--to", "2025-06-10", "--system", "system",
                 stdout=out, stderr=err)
    assert "hourly_energy" in out.getvalue() and "2 system-days" in out.getvalue()
    assert "2/2" in err.getvalue()
    assert agg.InverterHourlyEnergy.objects.filter(date=DAY).count() == 2
    with pytest.raises(CommandError):
        call_command("rollup", "--from", "2025-13-01", stdout=out, stderr=err)
