"""Today's energy is live to the last poll but one, agrees with the rollups, and never goes down."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum

from aggregation import models as agg
from aggregation.periodic import rollup_recent
from aggregation.selectors import today_energy
from tests import factories as f
from tests.aggregation.conftest import make_site
from tests.aggregation.plantdata import Arrivals, fast_insert, quarter_hours

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

TZ = ZoneInfo("Asia/Karachi")
START = datetime(2025, 6, 10, 9, 0, tzinfo=TZ)
STEP_S = 10


def test_today_is_the_closed_hours_plus_the_live_part_up_to_the_poll_before_the_last() -> None:
    site = make_site("Asia/Karachi")
    arrivals = Arrivals(site, START, START + timedelta(hours=3), step_s=STEP_S)
    rollup_at = START + timedelta(hours=2, minutes=5)
    arrivals.until(rollup_at)
    rollup_recent(rollup_at)
    now = START + timedelta(hours=2, minutes=47, seconds=3)
    arrivals.until(now)

    today = today_energy(site["system"], now)
    newest = START + timedelta(hours=2, minutes=47)  # the last poll is left out: it waits for the next
    truth = arrivals.plant.energy_between(START, newest - timedelta(seconds=STEP_S))
    assert today["date"] == "2025-06-10"
    assert today["source"] == "rollups+live" and today["hours"] == 2
    for key in ("pv", "load", "charge", "discharge", "import", "export"):
        assert today[key] == pytest.approx(truth[key], abs=0.002), key
    assert today_energy(site["pack"], now)["discharge"] == pytest.approx(truth["discharge"], abs=0.002)
    assert today_energy(site["meter"], now)["import"] == pytest.approx(truth["import"], abs=0.002)


@pytest.mark.parametrize("whole_hours", [True, False])
def test_today_never_goes_down_and_ends_where_the_rollups_do(whole_hours: bool, settings: Any) -> None:
    settings.SOLARMON_ROLLUP_WHOLE_HOURS = whole_hours
    site = make_site("Asia/Karachi")
    arrivals = Arrivals(site, START, START + timedelta(hours=1, minutes=30), step_s=STEP_S)
    # A counter spike on a slot boundary: live it is not booked, and later it is a discarded glitch.
    for ts, rows in arrivals.rows:
        if ts == START + timedelta(minutes=40):
            rows[0].pv_total_kwh = (rows[0].pv_total_kwh or 0) + 0.05
    # Up to the run at 11:05, the first to close the last hour with samples when it closes whole hours.
    beats = set(quarter_hours(START, START + timedelta(hours=2, minutes=10)))
    spike = START + timedelta(minutes=40)
    seen: list[float] = []
    now = START
    while now <= START + timedelta(hours=2, minutes=10):
        arrivals.until(now)
        if now in beats:
            rollup_recent(now)
        # Every poll around the spike and around each rollup, every two minutes elsewhere.
        if abs(now - spike) <= timedelta(seconds=40) or now in beats or now.minute % 2 == now.second == 0:
            seen.append(today_energy(site["system"], now)["pv"] or 0.0)
        now += timedelta(seconds=STEP_S)
    assert all(b >= a for a, b in itertools.pairwise(seen))
    assert seen[-1] > 1.0
    stored = agg.SystemHourlyEnergy.objects.filter(system_id="system").aggregate(pv=Sum("solar_energy_kwh"))
    assert seen[-1] == pytest.approx(stored["pv"], abs=1e-9)


def test_a_day_without_samples_has_no_figures() -> None:
    site = make_site("Asia/Karachi")
    today = today_energy(site["system"], START)
    assert today["source"] is None and today["pv"] is None and today["hours"] == 0


def test_a_catalog_change_reaches_the_figures_at_once() -> None:
    """The topology is held between reads; a new inverter counts from the next read on."""
    site = make_site("Asia/Karachi")
    arrivals = Arrivals(site, START, START + timedelta(minutes=30), step_s=STEP_S)
    now = START + timedelta(minutes=30)
    arrivals.until(now)
    before = today_energy(site["system"], now)["pv"]
    inv2 = f.inverter("inv2", site["array"], rated_power_w=8000)
    second = Arrivals({**site, "inverter": inv2}, START, START + timedelta(minutes=30), step_s=STEP_S)
    fast_insert([rows[0] for ts, rows in second.rows if ts <= now])  # only the new inverter's samples
    assert today_energy(site["system"], now)["pv"] == pytest.approx(2 * (before or 0), rel=1e-6)
