"""The SQL path and the pure reference book the same energy and coverage on the same messy data."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregation import accounting as acc
from aggregation import models as agg
from aggregation.rollups import rollup_day
from telemetry import models as t

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

DAY = date(2025, 6, 10)
TZ = ZoneInfo("Asia/Karachi")
# inv1 has rated_power_w 8000: cap 12 kW. No adapter: 10 s interval, so gaps over 30 s.
LIMITS = acc.Limits(cap_w=12000, max_gap_s=30, resolution_kwh=0.1)
FLOWS = [("pv", "pv_power_w", 1, "pv_total_kwh", "solar_energy_kwh"),
         ("import", "grid_power_w", 1, "grid_import_total_kwh", "grid_import_energy_kwh"),
         ("export", "grid_power_w", -1, "grid_export_total_kwh", "grid_export_energy_kwh")]


def messy_rows(site: dict[str, Any]) -> list[t.EnergySample]:
    """Jittered ~10 s samples over three local hours around noon, with counter glitches, a reset,
    a stretch without counters, gaps, and grid power that changes sign."""
    rng = random.Random(7)
    inv = site["inverter"]
    ts = datetime(2025, 6, 10, 10, 58, 30, tzinfo=TZ)
    end = datetime(2025, 6, 10, 14, 1, 0, tzinfo=TZ)
    pv_total, imp, exp = 100.0, 50.0, 20.0
    rows = []
    n = 0
    while ts < end:
        n += 1
        pv, grid = 3000 + rng.uniform(-500, 500), rng.uniform(-2000, 2000)
        pv_total += pv * 10 / 3.6e6
        imp += max(grid, 0) * 10 / 3.6e6
        exp += max(-grid, 0) * 10 / 3.6e6
        row = t.EnergySample(ts=ts, inverter_id=inv.pk, array_id=inv.array_id, system_id=inv.system_id,
                             pv_power_w=round(pv), grid_power_w=round(grid), pv_total_kwh=round(pv_total, 3),
                             grid_import_total_kwh=round(imp, 3), grid_export_total_kwh=round(exp, 3))
        if n % 97 == 0:
            row.pv_total_kwh = 0.0  # zero glitch
        if n % 131 == 0:
            row.grid_import_total_kwh = 999.0  # spike
        if n == 600:
            pv_total = 0.0  # a reset: the counter starts again from zero
        if 700 <= n < 760:
            row.pv_total_kwh = row.grid_import_total_kwh = row.grid_export_total_kwh = None
        rows.append(row)
        step = round(10 + rng.uniform(-1.5, 1.5), 3)  # the database path keeps milliseconds
        if n in (300, 900):
            step = 200  # a gap: not bridged
        ts += timedelta(seconds=step)
    return rows


def test_sql_and_reference_agree_hour_by_hour(site: dict[str, Any]) -> None:
    rows = messy_rows(site)
    t.EnergySample.objects.bulk_create(rows)
    rollup_day("system", DAY)

    hours = list(agg.InverterHourlyEnergy.objects.filter(inverter_id="inv1").order_by("start_utc"))
    assert [h.hour_start for h in hours] == [10, 11, 12, 13, 14]
    bounds = [h.start_utc.timestamp() for h in hours] + [hours[-1].start_utc.timestamp() + 3600]
    times = [r.ts.timestamp() for r in rows]
    for name, power, sign, counter, column in FLOWS:
        series = acc.Series(times, [getattr(r, counter) for r in rows], [getattr(r, power) for r in rows],
                            LIMITS, sign)
        expected, _ = acc.flow_energy(series, bounds)
        assert [getattr(h, column) for h in hours] == pytest.approx(expected, abs=1e-9), name
    covered = acc.covered_seconds(times, LIMITS.max_gap_s, bounds)
    assert [h.coverage for h in hours] == pytest.approx([c / 3600 for c in covered], abs=1e-9)
    assert hours[1].coverage < 0.97  # the gaps are visible
    assert {h.source for h in hours} >= {"counter", "mixed"}


# Local times of isolated bad readings, on and next to quarter-hour and hour boundaries.
BOUNDARY_GLITCHES = {(11, 15, 0): 0.0, (11, 30, 0): 999.0, (11, 44, 55): -1.0, (12, 0, 0): 0.0,
                     (12, 45, 0): 0.0}


@pytest.mark.parametrize("step_s", [5, 7])
def test_glitches_on_slot_boundaries_are_not_booked(site: dict[str, Any], step_s: int,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """A steady 3.6 kW with bad counter readings exactly on (5 s) or just after (7 s) quarter-hour and
    hour boundaries: each full hour still books 3.6 kWh, the same as the reference, and the
    discarded readings are logged."""
    inv = site["inverter"]
    ts = datetime(2025, 6, 10, 10, 58, 0, tzinfo=TZ)
    end = datetime(2025, 6, 10, 13, 2, 0, tzinfo=TZ)
    rows, glitched = [], set()
    while ts < end:
        good = 100.0 + 3.6 * (ts - datetime(2025, 6, 10, 10, 58, 0, tzinfo=TZ)).total_seconds() / 3600
        value = good
        for (h, m, s), bad in BOUNDARY_GLITCHES.items():
            mark = datetime(2025, 6, 10, h, m, s, tzinfo=TZ)
            if mark <= ts < mark + timedelta(seconds=step_s) and mark not in glitched:
                glitched.add(mark)
                value = good - 1.0 if bad < 0 else bad
        rows.append(t.EnergySample(ts=ts, inverter_id=inv.pk, array_id=inv.array_id, system_id=inv.system_id,
                                   pv_power_w=3600, pv_total_kwh=value))
        ts += timedelta(seconds=step_s)
    assert len(glitched) == len(BOUNDARY_GLITCHES)
    t.EnergySample.objects.bulk_create(rows)
    with caplog.at_level("WARNING", logger="aggregation.daydata"):
        rollup_day("system", DAY)

    hours = {h.hour_start: h for h in agg.InverterHourlyEnergy.objects.filter(inverter_id="inv1")}
    assert hours[11].solar_energy_kwh == pytest.approx(3.6, abs=1e-6)
    assert hours[12].solar_energy_kwh == pytest.approx(3.6, abs=1e-6)
    assert hours[11].source == hours[12].source == "counter"
    ordered = [hours[h] for h in sorted(hours)]
    bounds = [h.start_utc.timestamp() for h in ordered] + [ordered[-1].start_utc.timestamp() + 3600]
    series = acc.Series([r.ts.timestamp() for r in rows], [r.pv_total_kwh for r in rows],
                        [r.pv_power_w for r in rows], LIMITS)
    expected, _ = acc.flow_energy(series, bounds)
    assert [h.solar_energy_kwh for h in ordered] == pytest.approx(expected, abs=1e-9)
    assert f"{len(BOUNDARY_GLITCHES)} counter glitches discarded" in caplog.text


def test_samples_separated_by_a_gap_book_nothing_and_say_so(site: dict[str, Any]) -> None:
    """A pack read every half hour while discharging: no two samples are neighbours, so each hour
    books no energy, covers nothing, and its source is 'none', not 'integrated'."""
    pack = site["pack"]
    start = datetime(2025, 6, 10, 10, 0, 0, tzinfo=TZ)
    t.BatteryBankSample.objects.bulk_create([
        t.BatteryBankSample(ts=start + timedelta(minutes=30 * i), pack_id=pack.pk,
                            battery_array_id=pack.battery_array_id, system_id=pack.system_id,
                            power_w=-800.0 - 100 * i, soc=60.0 - i, voltage=52.0, current=-16.0,
                            temperature=24.0)
        for i in range(4)])
    rollup_day("system", DAY)

    hours = list(agg.BatteryBankHourly.objects.filter(pack_id=pack.pk).order_by("start_utc"))
    assert [h.hour_start for h in hours] == [10, 11]
    for hour in hours:
        assert (hour.charge_energy_kwh, hour.discharge_energy_kwh, hour.coverage) == (0.0, 0.0, 0.0)
        assert hour.source == "none"
        assert hour.sample_count == 2
