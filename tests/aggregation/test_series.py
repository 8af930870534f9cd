"""Series come from the source that fits the range, bounded, with bands, gaps and the time zone."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aggregation import models as agg
from aggregation.rollups import rollup_day
from aggregation.series import series
from catalog import models as catalog
from telemetry import models as t
from tests import factories as f
from tests.aggregation.conftest import make_site
from tests.aggregation.plantdata import fast_insert, inverter_sample, pack_sample, plant_for, times

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

TZ = ZoneInfo("Asia/Karachi")
DAY1 = date(2025, 6, 10)
START = datetime(2025, 6, 10, tzinfo=TZ)


def _two_days(site: dict[str, Any], *, hole: tuple[datetime, datetime] | None = None) -> None:
    plant = plant_for(START - timedelta(minutes=5))
    states = [plant.state(ts) for ts in times(START, START + timedelta(days=2) - timedelta(seconds=10), 10)
              if hole is None or not hole[0] <= ts < hole[1]]
    fast_insert([inverter_sample(site["inverter"], s) for s in states])
    fast_insert([pack_sample(site["pack"], s) for s in states])
    for day in (DAY1, DAY1 + timedelta(days=1)):
        rollup_day("system", day)


def _reads_raw(queries: list[dict[str, Any]]) -> bool:
    """Whether any query read rows of a raw sample table (its oldest row, one key lookup, aside)."""
    raw = re.compile(r"FROM \"?(energy|battery_bank|battery_cell|meter|array|system)_samples\"? WHERE")
    return any(raw.search(q["sql"]) for q in queries)


def test_a_few_recent_hours_come_from_raw_samples_with_bands_and_explicit_gaps() -> None:
    site = make_site("Asia/Karachi")
    hole = (START + timedelta(hours=10), START + timedelta(hours=11))
    _two_days(site, hole=hole)
    body = series("inverter", "inv1", START + timedelta(hours=9), START + timedelta(hours=13), 48)
    assert body["source"] == "raw" and body["step_s"] == 300 and body["timezone"] == "Asia/Karachi"
    points = body["points"]
    assert len(points) == 48
    assert all(p["samples"] == 30 for p in points if not hole[0] <= p["ts"] < hole[1])
    gap = [p for p in points if hole[0] <= p["ts"] < hole[1]]
    assert len(gap) == 12 and all(p["samples"] == 0 and p["values"]["pv_power_w"] is None for p in gap)
    noon = next(p for p in points if p["ts"] == START + timedelta(hours=12))
    rows = t.EnergySample.objects.filter(ts__gte=noon["ts"], ts__lt=noon["ts"] + timedelta(minutes=5))
    pv = [r.pv_power_w or 0 for r in rows]
    assert (noon["min"]["pv_power_w"], noon["max"]["pv_power_w"]) == (min(pv), max(pv))
    assert noon["values"]["pv_power_w"] == pytest.approx(sum(pv) / len(pv), abs=0.001)


def test_a_few_days_come_from_the_tiers_and_a_long_range_from_the_hourly_rollups() -> None:
    site = make_site("Asia/Karachi")
    _two_days(site)
    # The raw window has moved on: the first day and a half are gone.
    t.EnergySample.objects.filter(ts__lt=START + timedelta(days=1, hours=12)).delete()
    with CaptureQueriesContext(connection) as ctx:
        week = series("inverter", "inv1", START - timedelta(days=5), START + timedelta(days=2), 1000)
        year = series("system", "system", START - timedelta(days=300), START + timedelta(days=65), 1000)
    assert week["source"] == "tiers" and len(week["points"]) <= 1000 and week["step_s"] % 300 == 0
    day_one = [p for p in week["points"] if START <= p["ts"] < START + timedelta(days=1)]
    assert sum(p["samples"] for p in day_one) == 8640
    assert year["source"] == "hourly" and len(year["points"]) <= 1000
    assert sum(p["samples"] for p in year["points"]) > 0
    assert not _reads_raw(ctx.captured_queries)


def test_a_pack_series_has_the_band_of_its_cells_from_every_source() -> None:
    site = make_site("Asia/Karachi")
    pack: catalog.BatteryPack = f.pack("pack2", site["battery_array"], batteries=1, cells=2)
    cells = list(catalog.BatteryCell.objects.filter(pack=pack).order_by("cell_index"))
    rows: list[Any] = []
    for minute in range(60):
        ts = START + timedelta(hours=9, minutes=minute)
        rows.append(pack_sample(pack, plant_for(START).state(ts)))
        for cell, volts in zip(cells, (3.30, 3.35), strict=True):
            rows.append(t.BatteryCellSample(ts=ts, cell_ref=cell, battery_id=cell.battery_id, pack=pack,
                                            battery_array_id=pack.battery_array_id, system_id=pack.system_id,
                                            power=1, cell=cell.cell_index, voltage=volts, voltage_max=volts,
                                            voltage_min=volts - (0.2 if minute == 30 else 0.0)))
    for row in rows:
        row.save(force_insert=True)
    rollup_day("system", DAY1)
    for start, end, source in ((START + timedelta(hours=8), START + timedelta(hours=12), "raw"),
                               (START - timedelta(days=3), START + timedelta(days=1), "tiers"),
                               (START - timedelta(days=30), START + timedelta(days=1), "hourly")):
        body = series("battery_pack", "pack2", start, end, 200, ["cell_voltage", "soc"])
        assert body["source"] == source
        band = [p for p in body["points"] if p["samples"]]
        assert min(p["min"]["cell_voltage"] for p in band) == pytest.approx(3.10)
        assert max(p["max"]["cell_voltage"] for p in band) == pytest.approx(3.35)
        assert body["columns"] == ["cell_voltage", "soc"]
        if source == "raw":
            t.BatteryCellSample.objects.all().delete()
            t.BatteryBankSample.objects.all().delete()


def test_a_day_from_the_tiers_reaches_now_through_the_raw_samples_after_the_last_closed_slot() -> None:
    site = make_site("Asia/Karachi")
    _two_days(site)
    closed = START + timedelta(days=1, hours=20)
    agg.InverterTier.objects.filter(ts__gte=closed).delete()  # the periodic rollup has not got there yet
    agg.RollupWatermark.objects.create(device_type="inverter", device_id="inv1", system=site["system"],
                                       closed_until=closed, max_gap_s=30)
    body = series("inverter", "inv1", START + timedelta(days=1), START + timedelta(days=2), 288)
    assert body["source"] == "tiers" and body["step_s"] == 300
    assert all(p["samples"] == 30 for p in body["points"])  # before and after the last closed slot
