"""Today's energy on the overview: the system's local day so far, live to the poll before the last."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.template.defaultfilters import floatformat
from django.test import Client
from django.utils import timezone

from aggregation.periodic import rollup_recent
from solarmon.dashboard.systems import local_today
from tests.dashboard.history_data import STEP, local, make_site, write_between

pytestmark = pytest.mark.timeout(60)


@pytest.mark.django_db
def test_today_is_the_energy_of_the_local_day_so_far(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site()
    now = timezone.now()
    # Every request sees this instant, so the JSON and the page (the same computation) are compared
    # on the same live span rather than on two that may end a poll apart.
    monkeypatch.setattr(timezone, "now", lambda: now)
    today = local_today(site["system"], now)
    # Up to two hours of samples, ending a minute ago (after local midnight however early it is).
    end = (now - timedelta(minutes=1)).replace(microsecond=0)
    start = max(local(today, 0), end - timedelta(hours=2))
    plant = write_between(site, today, start, end, rollup=False)
    rollup_recent(end - timedelta(minutes=20))  # the periodic rollup closed most of it
    newest = start + (-(-(end - start) // STEP) - 1) * STEP  # the last sample before ``end``
    truth = plant.energy_between(start, newest - STEP)  # the newest poll waits for the next one
    client.force_login(User.objects.create_user("viewer"))

    body = client.get("/today.json").json()

    assert body["date"] == today.isoformat() and body["source"] in ("live", "rollups+live")
    for key, flow in (("pv", "pv"), ("load", "load"), ("charge", "charge"), ("discharge", "discharge"),
                      ("import", "import"), ("export", "export")):
        assert body[key] == pytest.approx(truth[flow], abs=0.002), key
    assert client.get(f"/api/energy/today/system/{site['system'].pk}/").json()["pv"] == body["pv"]
    page = client.get("/").content.decode()
    assert f'data-today="pv">{floatformat(body["pv"], 2)} kWh<' in page


@pytest.mark.django_db
def test_a_day_without_samples_says_so(client: Client) -> None:
    make_site()
    client.force_login(User.objects.create_user("viewer"))
    body = client.get("/today.json").json()
    assert body["source"] is None and body["pv"] is None
    assert "No energy for today yet" in client.get("/").content.decode()
