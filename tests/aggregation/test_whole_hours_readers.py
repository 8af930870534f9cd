"""Every reader of recent hours shows the same figures whether the periodic rollup closes every due
slot or whole local hours only (``SOLARMON_ROLLUP_WHOLE_HOURS``): the same samples, the same now.

Every reader answers at one clock (``timezone.now``, held), so the samples end just before it, in a
timezone where it is early afternoon (the current and the previous hour have PV).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.utils import timezone
from rest_framework.test import APIClient

from aggregation import models as agg
from aggregation.periodic import rollup_recent
from aggregation.selectors import today_energy
from aggregation.series import series
from integrations.mqtt.energy import lifetime_totals
from solarmon.dashboard.history import HistoryQuery, history_rows
from tests.aggregation.conftest import make_site
from tests.aggregation.plantdata import Arrivals, quarter_hours

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(240)]

LEVELS = ["inverters", "arrays", "systems", "packs", "meters"]


def _afternoon_zone(now: datetime) -> str:
    """A fixed-offset zone where ``now`` is between 14:00 and 15:00 local."""
    offset = (14 - now.astimezone(UTC).hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"


def _rounded(value: Any) -> Any:
    """Floats to 6 places (tiers and raw samples add the same terms in another order), recursively."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items() if k not in ("created_at", "updated_at", "as_of")}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def _figures(site: dict[str, Any], api: APIClient, now: datetime, today: date) -> dict[str, Any]:
    system = site["system"]
    out: dict[str, Any] = {
        "today": [today_energy(site[k], now) for k in ("system", "array", "inverter", "pack", "meter")],
        "lifetime": sorted(lifetime_totals(system.pk, now).items()),
        "tiers": series("inverter", "inv1", now - timedelta(hours=24), now, 288, now=now)["points"],
        "hourly": series("inverter", "inv1", now - timedelta(days=30), now, 200, now=now)["points"],
        "meter": series("meter", "grid_meter_1", now - timedelta(hours=24), now, 288, now=now)["points"],
    }
    for level, device in (("system", "system"), ("inverter", "inv1"), ("pack", "battery1"),
                          ("meter", "grid_meter_1")):
        for period in ("day", "month"):
            query = HistoryQuery(system, level, device, period, today, today.replace(day=1))
            out[f"history {level} {period}"] = history_rows(query, now)
    for level in LEVELS:
        body = api.get(f"/api/energy/{level}/hourly/?from={today - timedelta(days=1)}&to={today}").json()
        out[f"api {level}"] = body
        out[f"api {level} last page"] = api.get(f"/api/energy/{level}/hourly/?limit=2&offset=1"
                                                f"&ordering=-date").json()["results"]
        out[f"api {level} daily"] = api.get(f"/api/energy/{level}/daily/?from={today - timedelta(days=1)}"
                                            f"&to={today}").json()
    return _rounded(out)


def _forget_rollups() -> None:
    for model in apps.get_app_config("aggregation").get_models():
        model._default_manager.all().delete()


def test_every_reader_shows_the_same_hours_and_today_with_whole_hours_as_with_every_slot(
        settings: Any, django_user_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A clock past the half hour (the real one, or 35 minutes past the hour before), so that a
    # run at a quarter hour has closed slots past the hour's end: every reader, the API's too,
    # answers at this clock.
    real = timezone.now()
    clock = real if real.minute >= 35 else real.replace(minute=35) - timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: clock)
    site = make_site(_afternoon_zone(clock))
    zone = ZoneInfo(site["system"].timezone)
    local = clock.astimezone(zone)
    start = local.replace(hour=11, minute=0, second=0, microsecond=0)
    last = clock - timedelta(seconds=30)
    Arrivals(site, start, last).until(last)
    api = APIClient()
    api.force_login(django_user_model.objects.create_user("viewer", password="x"))
    seen, marks = {}, {}
    for whole in (False, True):
        settings.SOLARMON_ROLLUP_WHOLE_HOURS = whole
        _forget_rollups()
        for run in quarter_hours(start, last):
            rollup_recent(run)
        marks[whole] = agg.RollupWatermark.objects.get(device_id="inv1").closed_until
        seen[whole] = _figures(site, api, clock, local.date())
    # The two runs did store different things: whole hours stopped at the last hour's end.
    assert marks[True].astimezone(zone).minute == 0 and marks[False] > marks[True]
    today = seen[True]["today"][0]
    assert today["pv"] and today["pv"] > 0.1 and today["source"] == "rollups+live"
    assert [r["hour_start"] for r in seen[True]["api systems"]["results"]][-1] == local.hour
    for key in seen[False]:
        assert seen[True][key] == seen[False][key], key
    assert seen[True]["history system month"], "today's row of the month"
    # Today's daily rows are live too: the energy the overview shows, not the stored row's (which
    # whole hours left at the last hour's end).
    daily = {r["system_id"]: r for r in seen[True]["api systems daily"]["results"]}["system"]
    stored = agg.SystemDailySummary.objects.get(system_id="system", date=local.date())
    assert daily["date"] == local.date().isoformat()
    assert daily["pv_energy_kwh"] == pytest.approx(today["pv"], abs=0.001)
    assert daily["load_energy_kwh"] == pytest.approx(today["load"], abs=0.001)
    assert daily["load_energy_kwh"] > stored.load_energy_kwh + 0.1
    packs = {r["pack_id"]: r for r in seen[True]["api packs daily"]["results"]}
    pack_today = seen[True]["today"][3]
    assert packs["battery1"]["charge_energy_kwh"] == pytest.approx(pack_today["charge"], abs=0.001)
