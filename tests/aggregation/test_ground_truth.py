"""Rolled-up energy agrees with the plant model's exact counters over a simulated day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from adapters.simulators.plant import Plant
from aggregation import models as agg
from aggregation.rollups import rollup_day
from telemetry import models as t
from tests.aggregation.plantdata import (
    inverter_sample,
    local_bounds,
    meter_sample,
    pack_sample,
    plant_for,
    times,
)

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

DAY = "2025-06-10"
TZ = "Asia/Karachi"
FLOWS = {"pv": "solar_energy_kwh", "load": "load_energy_kwh", "charge": "battery_charge_energy_kwh",
         "discharge": "battery_discharge_energy_kwh", "import": "grid_import_energy_kwh",
         "export": "grid_export_energy_kwh"}


def fill_day(site: dict[str, Any], *, counters: bool, powers: bool, others: bool = True
             ) -> tuple[Plant, datetime, datetime]:
    """Five-second samples of the whole local day (and a minute either side) from one plant:
    the inverter's, and with ``others`` the meter's and the pack's."""
    start, end = local_bounds(DAY, TZ)
    plant = plant_for(start - timedelta(minutes=5))
    states = [plant.state(ts) for ts in times(start - timedelta(minutes=1), end + timedelta(minutes=1))]
    t.EnergySample.objects.bulk_create(
        [inverter_sample(site["inverter"], s, counters=counters, powers=powers) for s in states],
        batch_size=2000)
    if not others:
        return plant, start, end
    t.MeterSample.objects.bulk_create([meter_sample(site["meter"], s, counters=counters) for s in states],
                                      batch_size=2000)
    t.BatteryBankSample.objects.bulk_create([pack_sample(site["pack"], s) for s in states], batch_size=2000)
    return plant, start, end


@pytest.mark.parametrize(("counters", "powers"), [(True, False), (False, True)],
                         ids=["counters-only", "integration-only"])
def test_day_and_hours_match_the_plant(site: dict[str, Any], counters: bool, powers: bool) -> None:
    plant, start, end = fill_day(site, counters=counters, powers=powers, others=False)
    rollup_day("system", date.fromisoformat(DAY))

    truth = plant.energy_between(start, end)
    daily = agg.InverterDailySummary.objects.get(inverter_id="inv1", date=DAY)
    assert daily.pv_energy_kwh == pytest.approx(truth["pv"], rel=0.005)
    assert daily.load_energy_kwh == pytest.approx(truth["load"], rel=0.005)
    assert daily.grid_energy_imported_kwh == pytest.approx(truth["import"], rel=0.005)
    assert daily.grid_energy_exported_kwh == pytest.approx(truth["export"], rel=0.005)
    assert daily.source == ("counter" if counters else "integrated")
    assert daily.coverage == pytest.approx(1.0)

    hours = list(agg.InverterHourlyEnergy.objects.filter(inverter_id="inv1", date=DAY).order_by("start_utc"))
    assert [h.hour_start for h in hours] == list(range(24))
    for row in hours:
        exact = plant.energy_between(row.start_utc, row.start_utc + timedelta(hours=1))
        for flow, column in FLOWS.items():
            # Counters are stored to the watt-hour: one quantum at each end of the hour.
            expected = pytest.approx(exact[flow], rel=0.005, abs=0.002)
            assert getattr(row, column) == expected, (row.hour_start, flow)


def test_meter_and_pack_match_the_plant(site: dict[str, Any]) -> None:
    plant, start, end = fill_day(site, counters=False, powers=True)
    rollup_day("system", date.fromisoformat(DAY))

    truth = plant.energy_between(start, end)
    meter = agg.MeterDaily.objects.get(meter_id="grid_meter_1", day=DAY)
    assert meter.import_energy_kwh == pytest.approx(truth["import"], rel=0.005)
    assert meter.export_energy_kwh == pytest.approx(truth["export"], rel=0.005)
    pack = agg.BatteryBankDaily.objects.get(pack_id="battery1", date=DAY)
    assert pack.charge_energy_kwh == pytest.approx(truth["charge"], rel=0.005)
    assert pack.discharge_energy_kwh == pytest.approx(truth["discharge"], rel=0.005)
    assert pack.cycles == pytest.approx(truth["discharge"] / 10.0, rel=0.005)
