"""Rolled-up energy agrees with the plant model's exact counters over a simulated day.

inv1 reports only energy counters, inv2 only power (so its energy is integrated); the meter
and the pack are integrated from power. All four are sampled every 5 s from the same plant.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from aggregation import models as agg
from aggregation.rollups import rollup_day
from tests import factories as f
from tests.aggregation.plantdata import (
    fast_insert,
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


def test_every_device_matches_the_plant_within_half_a_percent(site: dict[str, Any]) -> None:
    inv2 = f.inverter("inv2", site["array"], rated_power_w=8000)
    start, end = local_bounds(DAY, TZ)
    plant = plant_for(start - timedelta(minutes=5))
    states = [plant.state(ts) for ts in times(start - timedelta(minutes=1), end + timedelta(minutes=1))]
    fast_insert([inverter_sample(site["inverter"], s, counters=True, powers=False) for s in states])
    fast_insert([inverter_sample(inv2, s, counters=False, powers=True) for s in states])
    fast_insert([meter_sample(site["meter"], s, counters=False) for s in states])
    fast_insert([pack_sample(site["pack"], s) for s in states])

    rollup_day("system", date.fromisoformat(DAY))

    truth = plant.energy_between(start, end)
    for inverter_id, source in (("inv1", "counter"), ("inv2", "integrated")):
        daily = agg.InverterDailySummary.objects.get(inverter_id=inverter_id, date=DAY)
        assert daily.pv_energy_kwh == pytest.approx(truth["pv"], rel=0.005)
        assert daily.load_energy_kwh == pytest.approx(truth["load"], rel=0.005)
        assert daily.grid_energy_imported_kwh == pytest.approx(truth["import"], rel=0.005)
        assert daily.grid_energy_exported_kwh == pytest.approx(truth["export"], rel=0.005)
        assert (daily.source, daily.coverage) == (source, pytest.approx(1.0))
        hours = list(agg.InverterHourlyEnergy.objects.filter(inverter_id=inverter_id).order_by("start_utc"))
        assert [h.hour_start for h in hours] == list(range(24))
        for row in hours:
            exact = plant.energy_between(row.start_utc, row.start_utc + timedelta(hours=1))
            for flow, column in FLOWS.items():
                # Counters are stored to the watt-hour: one quantum at each end of the hour.
                expected = pytest.approx(exact[flow], rel=0.005, abs=0.002)
                assert getattr(row, column) == expected, (inverter_id, row.hour_start, flow)

    meter = agg.MeterDaily.objects.get(meter_id="grid_meter_1", day=DAY)
    assert meter.import_energy_kwh == pytest.approx(truth["import"], rel=0.005)
    assert meter.export_energy_kwh == pytest.approx(truth["export"], rel=0.005)
    pack = agg.BatteryBankDaily.objects.get(pack_id="battery1", date=DAY)
    assert pack.charge_energy_kwh == pytest.approx(truth["charge"], rel=0.005)
    assert pack.discharge_energy_kwh == pytest.approx(truth["discharge"], rel=0.005)
    assert pack.cycles == pytest.approx(truth["discharge"] / 10.0, rel=0.005)
