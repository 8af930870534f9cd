"""An import killed with SIGKILL (mid-copy, or mid-rollups) finishes when run again: no row twice,
none missing, every day rolled up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from aggregation import models as am
from aggregation.rollups import rollup_day
from legacy.models import LegacyImport
from telemetry import models as t
from tests.legacy.conftest import import_legacy
from tests.legacy.original_db import Plan, generate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TABLES: dict[str, Any] = {
    "energy_samples": t.EnergySample, "array_samples": t.ArraySample, "meter_samples": t.MeterSample,
    "battery_bank_samples": t.BatteryBankSample, "battery_unit_samples": t.BatteryUnitSample,
    "battery_cell_samples": t.BatteryCellSample}


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _cells_started() -> bool:
    return t.BatteryCellSample.objects.exists()


def _rollups_started() -> bool:
    return LegacyImport.objects.filter(finished_at__isnull=True).exclude(rolled_through={}).exists()


@pytest.mark.parametrize("killed_when", [_cells_started, _rollups_started], ids=["copying", "rolling up"])
def test_an_import_killed_mid_run_finishes_on_the_next_run(transactional_db: None, tmp_path: Path,
                                                           killed_when: Callable[[], bool]) -> None:
    source = tmp_path / "solarhub.db"
    expected = generate(source, Plan(days=2, first_day=date(2026, 1, 10), meter_step_s=10))
    env = {**os.environ, "DATABASE_URL": _database_url(), "SECRET_KEY": settings.SECRET_KEY,
           "SOLARMON_LEGACY_BATCH_ROWS": "1000"}
    run = subprocess.Popen([sys.executable, "manage.py", "import_legacy", str(source)], env=env,
                           cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not killed_when():
        assert run.poll() is None, f"the import ended before it could be killed: {run.stderr.read()!r}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(30)
    record = LegacyImport.objects.get()
    assert record.finished_at is None  # it really was killed part-way
    before = {table: model.objects.count() for table, model in TABLES.items()}
    report = import_legacy(str(source))
    for table, model in TABLES.items():
        assert model.objects.count() == expected[table], table
        # The report says what this run added, and that the rest was there already.
        line = next(line for line in report.splitlines() if line.startswith(table))
        rows, new, present = (int(part.replace(",", "")) for part in line.split()[1:4])
        had = before[table]
        assert (rows, new, present) == (expected[table], expected[table] - had, had), table
    record.refresh_from_db()
    assert record.finished_at is not None
    assert {p.table: p.rows_read for p in record.tables.all()} == expected
    # Every day is rolled up, and rolling it up again changes nothing.
    days = sorted(set(am.InverterHourlyEnergy.objects.values_list("date", flat=True)))
    assert len(days) >= 2
    before = _hours()
    for day in days:
        rollup_day("system", day)
    assert _hours() == before


def _hours() -> list[tuple[object, ...]]:
    # Rounded: PostgreSQL may sum the same values in another order (the last bit differs).
    rows = am.InverterHourlyEnergy.objects.values_list("date", "hour_start", "solar_energy_kwh",
                                                       "battery_charge_energy_kwh")
    return sorted((day, hour, round(pv or 0.0, 9), round(charge or 0.0, 9)) for day, hour, pv, charge in rows)
