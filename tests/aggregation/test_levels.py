"""Arrays sum their inverters and the system sums its arrays; a system meter's grid figures
replace the inverters' (never added on top)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregation import models as agg
from aggregation.rollups import rollup_day
from tests import factories as f
from tests.aggregation.helpers import insert, steady_inverter, steady_meter

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

TZ = ZoneInfo("Asia/Karachi")
DAY = date(2025, 6, 10)
START, END = datetime(2025, 6, 10, 10, tzinfo=TZ), datetime(2025, 6, 10, 12, tzinfo=TZ)


@pytest.mark.parametrize("with_meter", [False, True], ids=["inverters-only", "system-meter"])
def test_array_and_system_hours_are_sums_and_grid_is_counted_once(db: Any, with_meter: bool) -> None:
    sys_ = f.system("system", timezone="Asia/Karachi")
    a1, a2 = f.array("array1", sys_), f.array("array2", sys_)
    inv1, inv3, inv2 = f.inverter("inv1", a1), f.inverter("inv3", a1), f.inverter("inv2", a2)
    # Steady powers for two local hours: each hour's energy in kWh is the power in kW.
    insert(steady_inverter(inv1, START, END, pv_power_w=1000, load_power_w=400, grid_power_w=500),
           steady_inverter(inv3, START, END, pv_power_w=2000, load_power_w=600, grid_power_w=300),
           steady_inverter(inv2, START, END, pv_power_w=500, load_power_w=300, grid_power_w=-200))
    if with_meter:
        meter = f.meter("grid_meter_1", sys_, type="grid")
        insert(steady_meter(meter, START, END, grid_w=900))

    rollup_day("system", DAY)

    array1 = agg.ArrayHourlyEnergy.objects.get(array_id="array1", date=DAY, hour_start=10)
    assert (array1.solar_energy_kwh, array1.load_energy_kwh) == pytest.approx((3.0, 1.0))
    assert (array1.grid_import_energy_kwh, array1.grid_export_energy_kwh) == pytest.approx((0.8, 0.0))
    assert array1.avg_solar_power_w == pytest.approx(3000)
    array2 = agg.ArrayHourlyEnergy.objects.get(array_id="array2", date=DAY, hour_start=10)
    assert (array2.grid_import_energy_kwh, array2.grid_export_energy_kwh) == pytest.approx((0.0, 0.2))

    system = agg.SystemHourlyEnergy.objects.get(system_id="system", date=DAY, hour_start=10)
    assert system.solar_energy_kwh == pytest.approx(3.5)
    assert system.load_energy_kwh == pytest.approx(1.3)
    if with_meter:
        assert (system.grid_import_energy_kwh, system.grid_export_energy_kwh) == pytest.approx((0.9, 0.0))
        assert system.grid_source == "meter"
    else:
        assert (system.grid_import_energy_kwh, system.grid_export_energy_kwh) == pytest.approx((0.8, 0.2))
        assert system.grid_source == "inverters"
    daily = agg.SystemDailySummary.objects.get(system_id="system", date=DAY)
    assert daily.pv_energy_kwh == pytest.approx(7.0)
    assert daily.pv_peak_hour in (10, 11)
    assert daily.pv_max_power_w == pytest.approx(3500)
    assert daily.weather_factor == pytest.approx(1.0)  # the only (so the best) day
