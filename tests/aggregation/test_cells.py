"""Single cells: one cell's series from its raw rows or tier, and the weakest cell of a period."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from aggregation import models as agg
from aggregation.cells import cell_series, weakest_cell
from aggregation.rollups import rollup_day
from catalog import models as catalog
from telemetry import models as t
from tests import factories as f
from tests.aggregation.conftest import make_site
from tests.aggregation.plantdata import pack_sample, plant_for

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

TZ = ZoneInfo("Europe/Berlin")
DAY = date(2025, 6, 10)
NINE = datetime(2025, 6, 10, 9, tzinfo=TZ)
LEVELS = (3.30, 3.32, 3.28)  # cell 2 sits lowest until cell 1 sags to 3.05 V at 10:12
SAG = NINE + timedelta(minutes=72)
HOLE = (NINE + timedelta(minutes=20), NINE + timedelta(minutes=30))  # nothing read: a gap


def _pack_with_cells() -> tuple[catalog.BatteryPack, list[catalog.BatteryCell]]:
    site = make_site("Europe/Berlin")
    pack: catalog.BatteryPack = f.pack("pack2", site["battery_array"], batteries=1, cells=3)
    cells = list(catalog.BatteryCell.objects.filter(pack=pack).order_by("cell_index"))
    rows: list[Any] = []
    plant = plant_for(NINE)
    for minute in range(120):
        ts = NINE + timedelta(minutes=minute)
        if HOLE[0] <= ts < HOLE[1]:
            continue
        pack_sample(pack, plant.state(ts)).save(force_insert=True)
        for cell, volts in zip(cells, LEVELS, strict=True):
            low = 3.05 if (cell.cell_index == 1 and ts == SAG) else volts
            rows.append(t.BatteryCellSample(ts=ts, cell_ref=cell, battery_id=cell.battery_id, pack=pack,
                                            battery_array_id=pack.battery_array_id, system_id=pack.system_id,
                                            power=1, cell=cell.cell_index, voltage=volts, voltage_min=low,
                                            voltage_max=volts, temperature=25.0 + cell.cell_index))
    t.BatteryCellSample.objects.bulk_create(rows)
    return pack, cells


def test_the_weakest_cell_is_the_one_that_sagged_lowest_in_the_period_and_when() -> None:
    pack, cells = _pack_with_cells()
    rollup_day("system", DAY)
    day = weakest_cell(pack, NINE - timedelta(hours=9), NINE + timedelta(hours=15))
    assert day is not None
    assert (day["cell_id"], day["battery_index"], day["cell_index"]) == (cells[1].pk, 0, 1)
    assert day["voltage_v"] == pytest.approx(3.05) and day["at"] == SAG.replace(minute=10)  # its tier slot
    before = weakest_cell(pack, NINE, NINE + timedelta(hours=1))  # before the sag: the lowest-sitting cell
    assert before is not None and before["cell_id"] == cells[2].pk
    assert before["voltage_v"] == pytest.approx(3.28)
    assert weakest_cell(pack, NINE + timedelta(hours=3), NINE + timedelta(hours=4)) is None


def test_the_weakest_cell_after_the_last_closed_slot_comes_from_the_raw_rows() -> None:
    pack, cells = _pack_with_cells()  # no tiers yet: the rollup has not run
    agg.RollupWatermark.objects.create(device_type="battery_pack", device_id=pack.pk,
                                       system_id=pack.system_id, closed_until=NINE, max_gap_s=30)
    found = weakest_cell(pack, NINE - timedelta(hours=1), NINE + timedelta(hours=3))
    assert found is not None and found["cell_id"] == cells[1].pk and found["at"] == SAG


def test_a_cell_series_shows_its_voltage_band_and_gaps_from_raw_rows_then_from_its_tier() -> None:
    _, cells = _pack_with_cells()
    rollup_day("system", DAY)
    recent = cell_series(cells[1], NINE, NINE + timedelta(hours=2), 24)
    assert recent["source"] == "raw" and recent["step_s"] == 300 and recent["timezone"] == "Europe/Berlin"
    assert len(recent["points"]) == 24
    gap = [p for p in recent["points"] if HOLE[0] <= p["ts"] < HOLE[1]]
    assert len(gap) == 2 and all(p["samples"] == 0 and p["values"]["voltage"] is None for p in gap)
    sag = next(p for p in recent["points"] if p["ts"] == SAG.replace(minute=10))
    assert sag["min"]["voltage"] == pytest.approx(3.05) and sag["values"]["voltage"] == pytest.approx(3.32)
    assert recent["points"][0]["values"]["temperature"] == pytest.approx(26.0)
    week = cell_series(cells[1], NINE - timedelta(days=6), NINE + timedelta(days=1), 1000)
    assert week["source"] == "tiers" and len(week["points"]) <= 1000
    assert min(p["min"]["voltage"] for p in week["points"] if p["samples"]) == pytest.approx(3.05)


@pytest.fixture
def client(django_user_model: Any) -> APIClient:
    api = APIClient()
    api.force_login(django_user_model.objects.create_user("owner", password="x"))
    return api


def test_the_cell_endpoints_answer_logged_in_users_and_name_what_is_missing(client: APIClient) -> None:
    pack, cells = _pack_with_cells()
    query = {"start": NINE.isoformat(), "end": (NINE + timedelta(hours=2)).isoformat(), "points": "12"}
    body = client.get(f"/api/series/cell/{cells[0].pk}/", query).json()
    assert body["kind"] == "cell" and len(body["points"]) == 12
    assert body["columns"] == ["voltage", "temperature"]
    weakest = client.get(f"/api/battery-packs/{pack.pk}/weakest-cell/", query).json()
    assert weakest["cell_id"] == cells[1].pk and weakest["voltage_v"] == pytest.approx(3.05)
    assert client.get("/api/series/cell/nope/", query).status_code == 404
    later = {"start": (NINE + timedelta(hours=5)).isoformat(), "end": (NINE + timedelta(hours=6)).isoformat()}
    missing = client.get(f"/api/battery-packs/{pack.pk}/weakest-cell/", later)
    assert missing.status_code == 404 and pack.pk in missing.json()["detail"]
    assert APIClient().get(f"/api/series/cell/{cells[0].pk}/", query).status_code in (401, 403)
