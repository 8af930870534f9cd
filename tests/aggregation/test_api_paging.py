"""The rollup lists page the same whatever they are ordered by: stored rows and the rows built on
read for the open span (the current hour, today) are merged into one order, every row once.

Four inverters whose ids sort differently by code point than by a locale's rules (``Inv2``,
``inv-b``, ``inv_a``, ``inv1``), three and a half hours of samples ending just after local
01:30, rolled up closing every due slot, so the stored rows of the open hour are partial and the
list must show the built ones instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from aggregation import models as agg
from aggregation.periodic import rollup_recent
from aggregation.selectors import open_span
from telemetry import models as t
from tests import factories as f
from tests.aggregation.conftest import make_site
from tests.aggregation.plantdata import Arrivals, fast_insert, quarter_hours

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(240)]

IDS = ["Inv2", "inv-b", "inv_a"]
HOURLY_DEFAULT = ["date", "start_utc", "system_id", "array_id", "inverter_id"]
DAILY_DEFAULT = ["date", "system_id", "array_id", "inverter_id"]
HOURLY_KEY = ["inverter_id", "date", "hour_start", "fold"]
DAILY_KEY = ["date", "inverter_id"]


def _zone_at_half_past_one(now: datetime) -> str:
    """A fixed-offset zone where ``now`` is between 01:00 and 02:00 local."""
    offset = (1 - now.astimezone(UTC).hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"


def _expected(rows: list[dict[str, Any]], ordering: str | None, default: list[str], key: list[str]
              ) -> list[dict[str, Any]]:
    """``rows`` in the list's default order, or sorted by the requested field with ties by the
    primary key in the same direction (stable passes)."""
    if not ordering:
        return sorted(rows, key=lambda r: tuple(str(r[k]) for k in default))
    descending = ordering.startswith("-")
    out = sorted(rows, key=lambda r: tuple((r[k] if isinstance(r[k], int) else str(r[k])) for k in key),
                 reverse=descending)
    out.sort(key=lambda r: r[ordering.lstrip("-")], reverse=descending)
    return out


def _pages(api: APIClient, url: str, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        body = api.get(f"{url}&limit={limit}&offset={len(rows)}").json()
        rows += body["results"]
        if not body["results"] or len(rows) >= body["count"]:
            assert len(rows) == body["count"]
            return rows


@pytest.fixture
def listed(settings: Any, django_user_model: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    settings.SOLARMON_ROLLUP_WHOLE_HOURS = False
    real = timezone.now()
    clock = real if real.minute >= 35 else real.replace(minute=35) - timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: clock)
    site = make_site(_zone_at_half_past_one(clock))
    local = clock.astimezone(ZoneInfo(site["system"].timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=2)
    last = clock - timedelta(seconds=30)
    Arrivals(site, start, last).until(last)
    for pk in IDS:
        other = Arrivals({**site, "inverter": f.inverter(pk, site["array"], rated_power_w=8000)}, start, last)
        fast_insert([r for _, rows in other.rows for r in rows if isinstance(r, t.EnergySample)])
    for run in quarter_hours(start, last):
        rollup_recent(run)
    api = APIClient()
    api.force_login(django_user_model.objects.create_user("viewer", password="x"))
    return {"api": api, "site": site, "clock": clock, "local": local, "start": start}


def test_hourly_list_pages_every_row_once_in_every_order(listed: dict[str, Any]) -> None:
    api, clock, local = listed["api"], listed["clock"], listed["local"]
    hour = local.replace(minute=0, second=0, microsecond=0)
    # The rollup stored a partial row of the open hour; the list shows the built one instead.
    stored = agg.InverterHourlyEnergy.objects.get(inverter_id="inv1", start_utc=hour)
    built = [r for r in open_span(listed["site"]["system"], clock).rows_of(agg.InverterHourlyEnergy)
             if r["inverter_id"] == "inv1" and r["start_utc"] == hour]
    assert built and built[0]["load_energy_kwh"] > stored.load_energy_kwh + 0.01
    url = "/api/energy/inverters/hourly/?"
    whole = api.get(f"{url}limit=1000").json()["results"]
    hours = {(r["inverter_id"], r["start_utc"]) for r in whole}
    assert len(whole) == len(hours) == 4 * 4  # 22:00 to 01:00 local, each inverter once
    now_row = next(r for r in whole if r["inverter_id"] == "inv1" and r["hour_start"] == local.hour)
    assert now_row["load_energy_kwh"] == pytest.approx(built[0]["load_energy_kwh"])
    for ordering in (None, "-date", "inverter_id", "-inverter_id", "hour_start", "-hour_start", "-start_utc"):
        query = f"{url}ordering={ordering}" if ordering else url
        listed_once = api.get(f"{query}&limit=1000").json()["results"]
        assert listed_once == _expected(whole, ordering, HOURLY_DEFAULT, HOURLY_KEY), ordering
        for limit in (1, 3, 7):
            assert _pages(api, query, limit) == listed_once, (ordering, limit)


def test_daily_list_pages_yesterday_stored_and_today_built(listed: dict[str, Any]) -> None:
    api, local = listed["api"], listed["local"]
    url = "/api/energy/inverters/daily/?"
    whole = api.get(f"{url}limit=1000").json()["results"]
    days = sorted({r["date"] for r in whole})
    assert days == [(local.date() - timedelta(days=1)).isoformat(), local.date().isoformat()]
    assert len(whole) == len({(r["inverter_id"], r["date"]) for r in whole}) == 2 * 4
    for ordering in (None, "-date", "inverter_id", "-inverter_id"):
        query = f"{url}ordering={ordering}" if ordering else url
        listed_once = api.get(f"{query}&limit=1000").json()["results"]
        assert listed_once == _expected(whole, ordering, DAILY_DEFAULT, DAILY_KEY), ordering
        for limit in (1, 3):
            assert _pages(api, query, limit) == listed_once, (ordering, limit)
