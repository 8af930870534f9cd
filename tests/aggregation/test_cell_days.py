"""Each cell's day (``battery_cell_daily``): written with the cell tiers, read for the weakest cell
of long periods, kept when the cell tiers are pruned; and one cell's buckets line up with its pack's."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregation import tier_models as tm
from aggregation.cells import cell_series, weakest_cell
from aggregation.periodic import rollup_recent
from aggregation.rollups import rollup_day
from aggregation.series import series
from catalog import models as catalog
from telemetry import models as t
from tests import factories as f
from tests.aggregation.conftest import make_site
from tests.aggregation.plantdata import pack_sample, plant_for

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

TZ = ZoneInfo("Europe/Berlin")
DAYS = [date(2025, 6, 10), date(2025, 6, 11), date(2025, 6, 12)]
LEVELS = (3.30, 3.32, 3.28)  # cell 2 sits lowest, until cell 1 sags to 3.05 V once on the second day
SAG = datetime(2025, 6, 11, 10, 12, tzinfo=TZ)


def _nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=TZ)


def _pack(days: list[date]) -> tuple[catalog.BatteryPack, list[catalog.BatteryCell]]:
    """A pack of 3 cells read every minute from 09:00 to 11:00 local on each of ``days``."""
    site = make_site("Europe/Berlin")
    pack: catalog.BatteryPack = f.pack("pack2", site["battery_array"], batteries=1, cells=3)
    cells = list(catalog.BatteryCell.objects.filter(pack=pack).order_by("cell_index"))
    rows: list[Any] = []
    packs: list[Any] = []
    for day in days:
        plant = plant_for(_nine(day))
        for minute in range(120):
            ts = _nine(day) + timedelta(minutes=minute)
            packs.append(pack_sample(pack, plant.state(ts)))
            for cell, volts in zip(cells, LEVELS, strict=True):
                low = 3.05 if (cell.cell_index == 1 and ts == SAG) else volts
                rows.append(t.BatteryCellSample(
                    ts=ts, cell_ref=cell, battery_id=cell.battery_id, pack=pack,
                    battery_array_id=pack.battery_array_id, system_id=pack.system_id, power=1,
                    cell=cell.cell_index, voltage=volts, voltage_min=low, voltage_max=volts,
                    temperature=25.0 + cell.cell_index))
    t.BatteryBankSample.objects.bulk_create(packs)
    t.BatteryCellSample.objects.bulk_create(rows)
    return pack, cells


def _days(cell: catalog.BatteryCell) -> dict[date, tm.CellDaily]:
    return {row.date: row for row in tm.CellDaily.objects.filter(cell=cell)}


def test_the_periodic_rollup_sums_up_each_cells_day_once_the_day_is_closed() -> None:
    _, cells = _pack(DAYS[1:2])
    day = DAYS[1]
    rollup_recent(datetime(2025, 6, 12, 1, tzinfo=TZ))  # the 11th closes; the 12th has begun
    sagged = _days(cells[1])
    assert list(sagged) == [day]
    row = sagged[day]
    assert row.voltage_min == pytest.approx(3.05) and row.voltage_max == pytest.approx(3.32)
    assert row.voltage_min_at == SAG.replace(minute=10)  # the start of its 5-minute slot
    assert row.voltage_avg == pytest.approx(3.32) and row.sample_count == 120
    assert row.temperature_avg == pytest.approx(26.0)
    assert _days(cells[2])[day].voltage_min == pytest.approx(3.28)


def test_the_weakest_cell_of_several_days_is_named_after_the_cell_tiers_are_pruned() -> None:
    pack, cells = _pack(DAYS)
    for day in DAYS:
        rollup_day("system", day)
    start, end = _nine(DAYS[0]) - timedelta(hours=15), _nine(DAYS[-1]) + timedelta(hours=20)  # partial ends
    found = weakest_cell(pack, start, end)
    assert found is not None and found["cell_id"] == cells[1].pk
    assert found["voltage_v"] == pytest.approx(3.05) and found["at"] == SAG.replace(minute=10)
    first_day = weakest_cell(pack, _nine(DAYS[0]) - timedelta(hours=9), _nine(DAYS[0]) + timedelta(hours=15))
    assert first_day is not None and first_day["cell_id"] == cells[2].pk
    tm.CellTier.objects.all().delete()  # as retention does after SOLARMON_CELL_TIER_RETENTION_DAYS
    whole_days = weakest_cell(pack, _nine(DAYS[0]) - timedelta(hours=9),
                              _nine(DAYS[-1]) + timedelta(hours=15))
    assert whole_days is not None and whole_days["cell_id"] == cells[1].pk
    assert whole_days["at"] == SAG.replace(minute=10)
    rollup_day("system", DAYS[1])  # rolled up again without its cell tiers: the summary stays
    assert _days(cells[1])[DAYS[1]].voltage_min == pytest.approx(3.05)


def test_rolling_a_day_up_again_gives_its_cells_summary_from_what_the_samples_say_now() -> None:
    pack, cells = _pack(DAYS[1:2])
    rollup_day("system", DAYS[1])
    t.BatteryCellSample.objects.filter(cell_ref=cells[1], ts=SAG).update(voltage_min=3.32)  # a misread, fixed
    rollup_day("system", DAYS[1])
    assert _days(cells[1])[DAYS[1]].voltage_min == pytest.approx(3.32)
    assert tm.CellDaily.objects.filter(date=DAYS[1]).count() == 3
    found = weakest_cell(pack, _nine(DAYS[1]) - timedelta(hours=9), _nine(DAYS[1]) + timedelta(hours=15))
    assert found is not None and found["cell_id"] == cells[2].pk


@pytest.mark.parametrize("days", [7, 30, 365])
def test_a_cells_buckets_are_its_packs_so_the_chart_draws_it_on_the_band(days: int) -> None:
    pack, cells = _pack(DAYS)
    for day in DAYS:
        rollup_day("system", day)
    end = _nine(DAYS[-1]) + timedelta(hours=15, minutes=7)  # as a page asks: from now, not from an hour
    start = end - timedelta(days=days)
    band = series("battery_pack", pack.pk, start, end, 720, ["cell_voltage"])
    cell = cell_series(cells[1], start, end, 720)
    assert cell["step_s"] == band["step_s"]
    assert [p["ts"] for p in cell["points"]] == [p["ts"] for p in band["points"]]
    read = [(p["ts"], b["samples"] > 0) for p, b in zip(cell["points"], band["points"], strict=True)
            if p["samples"]]
    assert read and all(in_band for _, in_band in read)
    if days > 1:
        assert min(p["min"]["voltage"] for p in cell["points"] if p["samples"]) == pytest.approx(3.05)
