"""History: hourly and daily charts of the rollups, one bar per row, and the same rows as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from aggregation import models as agg
from tests.dashboard.conftest import api, fits_phone, screenshot
from tests.dashboard.history_data import make_site, write_hours

DAY1, DAY2 = date(2026, 3, 9), date(2026, 3, 10)
HOURS_DAY1 = 4  # 07:00 to 11:00 local


@pytest.fixture
def history_site(transactional_db: None) -> dict[str, Any]:
    site = make_site()
    write_hours(site, DAY1, 7, HOURS_DAY1)
    write_hours(site, DAY2, 8, 2)
    return site


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_hourly_chart_has_a_bar_per_stored_hour_and_the_csv_has_the_same_rows(
        history_site: dict[str, Any], page: Any) -> None:
    page.goto(f"/history/?period=day&day={DAY1}")
    stored = list(agg.SystemHourlyEnergy.objects.filter(system_id="system", date=DAY1).order_by("start_utc"))
    assert len(stored) == HOURS_DAY1
    served = api(page, f"/api/energy/systems/hourly/?system_id=system&from={DAY1}&to={DAY1}")["results"]
    assert [row["hour_start"] for row in served] == [row.hour_start for row in stored]
    for series in ("solar_energy_kwh", "load_energy_kwh", "battery_charge_energy_kwh"):
        assert page.locator(f'#chart rect.bar[data-series="{series}"]').count() == HOURS_DAY1, series
    assert page.locator("#legend li").count() == 6
    assert page.locator("#history-table tbody tr").count() == HOURS_DAY1
    tallest = max(stored, key=lambda row: row.solar_energy_kwh or 0)
    index = stored.index(tallest)
    title = page.locator(f'rect.bar[data-series="solar_energy_kwh"][data-index="{index}"] title')
    assert title.text_content() == f"PV {tallest.hour_start:02d}:00: {tallest.solar_energy_kwh:.2f} kWh"

    download = page.request.get(page.locator("#csv-link").get_attribute("href"))
    assert download.headers["content-type"].startswith("text/csv")
    header, *rows = csv_rows(download.text())
    assert header[:3] == ["date", "hour", "PV (kWh)"]
    assert [row[1] for row in rows] == [f"{r.hour_start:02d}:00" for r in stored]
    assert [float(row[2]) for row in rows] == [pytest.approx(r.solar_energy_kwh, abs=1e-3) for r in stored]
    screenshot(page, "history-desktop")
    fits_phone(page)
    screenshot(page, "history-phone")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_daily_charts_of_a_pack_and_a_meter_show_each_stored_day(
        history_site: dict[str, Any], page: Any) -> None:
    page.goto("/history/")
    page.select_option("select[name=target]", "pack:pack1")
    page.select_option("select[name=period]", "month")
    page.fill("input[name=month]", "2026-03")
    page.click("#history-form button[type=submit]")
    page.wait_for_url("**/history/?*target=pack%3Apack1*")
    days = agg.BatteryBankDaily.objects.filter(pack_id="pack1").count()
    assert days == 2
    assert page.locator('#chart rect.bar[data-series="charge_energy_kwh"]').count() == days
    soc_line = page.locator('#chart path.line[data-series="max_soc_pct"]').get_attribute("d")
    assert soc_line.count("L") == days - 1  # one point per day, joined
    screenshot(page, "history-pack-month")

    page.goto("/history/?target=meter:grid_meter_1&period=month&month=2026-03")
    exports = list(agg.MeterDaily.objects.filter(meter_id="grid_meter_1").order_by("day")
                   .values_list("export_energy_kwh", flat=True))
    served = api(page, "/api/energy/meters/daily/?meter_id=grid_meter_1&from=2026-03-01&to=2026-03-31")
    assert [row["export_energy_kwh"] for row in served["results"]] == pytest.approx(exports)
    bars = page.locator('#chart rect.bar[data-series="export_energy_kwh"]')
    assert bars.count() == len(exports) == 2
    cells = page.locator("#history-table tbody tr td:nth-of-type(2)").all_inner_texts()
    assert cells == [f"{value:.2f}" for value in exports]


@pytest.mark.django_db
def test_the_csv_of_a_month_has_one_row_per_stored_day(client: Client) -> None:
    site = make_site()
    write_hours(site, DAY1, 10, 2)
    client.force_login(User.objects.create_user("viewer"))
    response = client.get("/history.csv", {"target": "system:system", "period": "month", "month": "2026-03"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    header, *rows = csv_rows(response.content.decode())
    day = agg.SystemDailySummary.objects.get(system_id="system", date=DAY1)
    hours = agg.SystemHourlyEnergy.objects.filter(system_id="system", date=DAY1)
    assert header == ["date", "PV (kWh)", "Load (kWh)", "Import (kWh)", "Export (kWh)", "Charge (kWh)",
                      "Discharge (kWh)"]
    assert len(rows) == 1 and rows[0][0] == "2026-03-09"
    assert float(rows[0][1]) == pytest.approx(day.pv_energy_kwh, abs=1e-3)
    # The daily table has no battery energy: it is the day's hours summed.
    charge = sum(h.battery_charge_energy_kwh or 0 for h in hours)
    assert float(rows[0][5]) == pytest.approx(charge, abs=1e-3)


@pytest.mark.django_db
def test_a_device_of_another_system_is_not_found(client: Client) -> None:
    make_site()
    from tests import factories as f

    other = f.system("other")
    client.force_login(User.objects.create_user("viewer"))
    assert client.get("/history/", {"system": other.pk, "target": "inverter:inv1"}).status_code == 404
    assert client.get("/history.csv", {"system": "system", "target": "inverter:inv1"}).status_code == 200
