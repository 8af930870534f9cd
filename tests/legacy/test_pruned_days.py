"""A day whose raw samples the original pruned keeps the original's hourly figures, marked imported;
days with samples are always solarmon's own rollups."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Sum

from aggregation import models as am
from aggregation.choices import Source
from aggregation.rollups import rollup_day
from tests.legacy.conftest import import_legacy

pytestmark = [pytest.mark.timeout(120)]

DAY = date(2026, 1, 20)


def test_hours_of_a_pruned_day_are_imported_with_the_battery_unswapped(
        transactional_db: None, example: Path, truth: dict[str, Any]) -> None:
    with sqlite3.connect(example) as conn:
        conn.execute("DELETE FROM energy_samples")
    import_legacy(str(example))
    hours = am.InverterHourlyEnergy.objects.filter(inverter="powdrive1", date=DAY)
    assert hours.count() == 24 and set(hours.values_list("source", flat=True)) == {Source.IMPORTED}
    sums = hours.aggregate(pv=Sum("solar_energy_kwh"), charge=Sum("battery_charge_energy_kwh"),
                           discharge=Sum("battery_discharge_energy_kwh"))
    original = truth["original_rollups"]["hourly_energy"]["powdrive1"][DAY.isoformat()]
    assert sums["pv"] == pytest.approx(original["pv"], abs=1e-3)  # the original's own figure
    # Its Powdrive charge and discharge were swapped; imported the right way round.
    assert (sums["charge"], sums["discharge"]) == (pytest.approx(original["batt_discharge"], abs=1e-3),
                                                   pytest.approx(original["batt_charge"], abs=1e-3))
    physical = truth["energy_kwh"]["powdrive1"][DAY.isoformat()]["physical"]
    assert sums["charge"] == pytest.approx(physical["batt_charge"], rel=0.02)
    daily = am.InverterDailySummary.objects.get(inverter="powdrive1", date=DAY)
    assert daily.source == Source.IMPORTED and daily.pv_energy_kwh == pytest.approx(sums["pv"])
    assert am.SystemHourlyEnergy.objects.filter(date=DAY, source=Source.IMPORTED).count() == 24
    # A later recomputation of the day (no samples) keeps them.
    rollup_day("system", DAY)
    assert am.InverterHourlyEnergy.objects.filter(inverter="powdrive1", date=DAY).count() == 24


def test_a_day_with_samples_never_takes_the_originals_hours(transactional_db: None, example: Path) -> None:
    import_legacy(str(example))
    assert not am.InverterHourlyEnergy.objects.filter(source=Source.IMPORTED).exists()
