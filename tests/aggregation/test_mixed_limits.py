"""Inverters with different rated powers and poll intervals are rolled up together."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from aggregation.models import ArrayHourlyEnergy, InverterHourlyEnergy
from aggregation.rollups import rollup_day
from telemetry import models as t
from tests import factories as f
from tests.aggregation.helpers import steady_inverter

pytestmark = pytest.mark.django_db


def test_inverters_with_different_limits_roll_up_in_one_query() -> None:
    sys = f.system("system", timezone="UTC")
    arr = f.array("array1", sys)
    small = f.inverter("small", arr, rated_power_w=3000)
    big = f.inverter("big", arr, rated_power_w=12000)
    big.adapter = f.adapter("big_ad", "powdrive", {"transport": "tcp", "host": "127.0.0.1"},
                            poll_interval_s=10)
    big.save()
    start, end = datetime(2026, 4, 1, 10, tzinfo=UTC), datetime(2026, 4, 1, 11, tzinfo=UTC)
    t.EnergySample.objects.bulk_create(
        steady_inverter(small, start, end, step_s=5, pv_power_w=1000, load_power_w=0)
        + steady_inverter(big, start, end, step_s=10, pv_power_w=6000, load_power_w=0))
    rollup_day("system", date(2026, 4, 1))
    hours = {(r.inverter_id, r.hour_start): r.solar_energy_kwh for r in InverterHourlyEnergy.objects.all()}
    assert hours[("small", 10)] == pytest.approx(1.0, rel=0.01)
    assert hours[("big", 10)] == pytest.approx(6.0, rel=0.01)
    array = ArrayHourlyEnergy.objects.get(hour_start=10)
    assert array.solar_energy_kwh == pytest.approx(7.0, rel=0.01)
