"""The spec §12 hourly and battery-bank example queries, verbatim, return the expected rows.

They use SQLite's DATE('now') (the UTC date), so they run on SQLite only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from aggregation.rollups import rollup_day
from tests.aggregation.helpers import insert, steady_inverter, steady_pack

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

SYSTEM_TODAY = """
SELECT 
    hour_start,
    SUM(solar_energy_kwh) as total_solar,
    SUM(load_energy_kwh) as total_load,
    SUM(battery_charge_energy_kwh) as total_battery_charge,
    SUM(battery_discharge_energy_kwh) as total_battery_discharge,
    SUM(grid_import_energy_kwh) as total_grid_import,
    SUM(grid_export_energy_kwh) as total_grid_export
FROM system_hourly_energy
WHERE system_id = 'system' AND date = DATE('now')
GROUP BY hour_start
ORDER BY hour_start;
"""  # noqa: W291 (copied verbatim)

PACK_TODAY = """
SELECT 
    hour_start,
    pack_id,
    charge_energy_kwh,
    discharge_energy_kwh,
    avg_power_w,
    avg_soc_pct,
    avg_voltage_v,
    avg_temperature_c
FROM battery_bank_hourly
WHERE pack_id = 'battery1' AND date = DATE('now')
ORDER BY hour_start;
"""  # noqa: W291

PACK_WEEK = """
SELECT 
    date,
    pack_id,
    charge_energy_kwh,
    discharge_energy_kwh,
    net_energy_kwh,
    min_soc_pct,
    max_soc_pct,
    avg_soc_pct,
    cycles
FROM battery_bank_daily
WHERE pack_id = 'battery1' AND date >= DATE('now', '-7 days')
ORDER BY date DESC;
"""  # noqa: W291


def query(sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.fixture
def rolled_days(site: dict[str, Any]) -> list[str]:
    """Two local hours (10:00-12:00) charging at 2 kW and producing 3 kW, on the local date equal to
    today's UTC date, 3 days before and 10 days before; each day rolled up."""
    if connection.vendor != "sqlite":
        pytest.skip("the spec's example queries use SQLite's DATE('now')")
    today = datetime.now(UTC).date()
    days = [today, today - timedelta(days=3), today - timedelta(days=10)]
    for day in days:
        start = datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo("Asia/Karachi"))
        end = start + timedelta(hours=2, seconds=-10)
        insert(steady_inverter(site["inverter"], start, end, pv_power_w=3000, batt_power_w=2000),
               steady_pack(site["pack"], start, end, power_w=2000, soc=50.0))
        rollup_day("system", day)
    return [d.isoformat() for d in days]


def test_system_hourly_energy_for_today(rolled_days: list[str]) -> None:
    rows = query(SYSTEM_TODAY)
    assert [r[0] for r in rows] == [10, 11]
    assert rows[0][1] == pytest.approx(3.0) and rows[0][3] == pytest.approx(2.0)
    assert rows[0][4] == pytest.approx(0.0)


def test_battery_bank_hourly_for_today(rolled_days: list[str]) -> None:
    rows = query(PACK_TODAY)
    assert [(r[0], r[1]) for r in rows] == [(10, "battery1"), (11, "battery1")]
    hour10 = rows[0]
    assert hour10[2:8] == pytest.approx((2.0, 0.0, 2000.0, 50.0, 52.0, 24.0))


def test_battery_bank_daily_for_the_last_seven_days(rolled_days: list[str]) -> None:
    rows = query(PACK_WEEK)
    assert [(str(r[0]), r[1]) for r in rows] == [(rolled_days[0], "battery1"), (rolled_days[1], "battery1")]
    # About 4 kWh charged (two hours at 2 kW less the last 10 s), none discharged: no cycles.
    assert rows[0][2] == pytest.approx(4.0, abs=0.01) and rows[0][3] == 0.0 and rows[0][8] == 0.0
    assert rows[0][5:8] == (50.0, 50.0, 50.0)
