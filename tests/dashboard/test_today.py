"""Today's energy on the overview: the system's local day, from its hourly rollups."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from solarmon.dashboard.systems import local_today
from tests.dashboard.history_data import STEP, local, make_site, write_hours

pytestmark = pytest.mark.timeout(60)


@pytest.mark.django_db
def test_today_is_the_energy_of_the_local_day_so_far(client: Client) -> None:
    site = make_site()
    today = local_today(site["system"])
    plant = write_hours(site, today, 9, 2)
    # Counters are read at each sample: the energy counted runs from the first sample to the last.
    truth = plant.energy_between(local(today, 9), local(today, 11) - STEP)
    client.force_login(User.objects.create_user("viewer"))

    body = client.get("/today.json").json()

    assert body["date"] == today.isoformat() and body["source"] == "hourly" and body["hours"] == 2
    for key, flow in (("pv", "pv"), ("load", "load"), ("charge", "charge"), ("discharge", "discharge"),
                      ("import", "import"), ("export", "export")):
        assert body[key] == pytest.approx(truth[flow], abs=0.02), key
    page = client.get("/").content.decode()
    assert f'data-today="pv">{body["pv"]:.2f} kWh<' in page


@pytest.mark.django_db
def test_a_day_without_rollups_says_so(client: Client) -> None:
    make_site()
    client.force_login(User.objects.create_user("viewer"))
    body = client.get("/today.json").json()
    assert body["source"] is None and body["pv"] is None
    assert "No energy totals for today yet" in client.get("/").content.decode()
