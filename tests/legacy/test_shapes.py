"""Both shapes of the original's database: after its hierarchy migration (catalog tables) and
before it (no system_id anywhere, no catalog), with and without the original's config.yaml."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Sum

from aggregation import models as am
from catalog import models as cm
from telemetry import models as t
from tests.legacy.conftest import import_legacy
from tests.legacy.original_db import EXAMPLE, EXAMPLE_CONFIG, pre_migration

pytestmark = [pytest.mark.timeout(120)]

DAY = date(2026, 1, 20)


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    pre_migration(EXAMPLE, path)
    return path


def _pv(inverter: str) -> float:
    return am.InverterHourlyEnergy.objects.filter(date=DAY, inverter=inverter).aggregate(
        pv=Sum("solar_energy_kwh"))["pv"]


def test_the_post_migration_catalog_tables_are_the_catalog(transactional_db: None, example: Path,
                                                          truth: dict[str, Any]) -> None:
    report = import_legacy(str(example))
    assert "post-migration shape" in report
    # The original put every device under its default system; its config's "home" has none.
    assert list(cm.System.objects.values_list("pk", flat=True)) == ["system"]
    assert cm.Inverter.objects.get().adapter.config_json["serial_port"].startswith("/dev/serial/by-id/")
    assert cm.BatteryPack.objects.get().model == "USP5000"
    # Its two active attachments of the same pair (default and configured) are one.
    assert list(cm.BatteryArrayAttachment.objects.values_list("battery_array", "inverter_array")) == [
        ("battery_array1", "array1")]
    assert _pv("powdrive1") == pytest.approx(truth["energy_kwh"]["powdrive1"]["2026-01-20"]["physical"]["pv"],
                                             rel=0.01)


def test_the_pre_migration_shape_without_config_gets_the_default_structure(
        transactional_db: None, old_file: Path, truth: dict[str, Any]) -> None:
    report = import_legacy(str(old_file))
    assert "pre-migration shape" in report and "default structure" in report
    assert "inverter powdrive1: read as powdrive" in report  # its mode is stored as text
    inverter = cm.Inverter.objects.get()
    assert (inverter.pk, inverter.array_id, inverter.system_id) == ("powdrive1", "array1", "system")
    assert cm.Meter.objects.get().array_id is None
    assert cm.BatteryPack.objects.get().batteries.count() == 2
    assert t.BatteryCellSample.objects.count() == 4320
    physical = truth["energy_kwh"]["powdrive1"]["2026-01-20"]["physical"]
    assert _pv("powdrive1") == pytest.approx(physical["pv"], rel=0.01)
    hours = am.InverterHourlyEnergy.objects.filter(date=DAY)
    charge = hours.aggregate(c=Sum("battery_charge_energy_kwh"))["c"]
    assert charge == pytest.approx(physical["batt_charge"], rel=0.01)


def test_the_pre_migration_shape_takes_its_catalog_from_the_config(
        transactional_db: None, old_file: Path, truth: dict[str, Any]) -> None:
    report = import_legacy(str(old_file), "--config", str(EXAMPLE_CONFIG))
    assert "warning: inverters[0].adapter.register_map_file: not imported" in report
    assert list(cm.System.objects.values_list("pk", flat=True)) == ["home"]
    assert cm.InverterArray.objects.get().name == "Ground Floor"
    assert set(t.EnergySample.objects.values_list("system_id", "array_id")) == {("home", "array1")}
    pack = am.BatteryBankDaily.objects.get(date=DAY)
    physical = truth["energy_kwh"]["battery1"]["2026-01-20"]["physical"]
    assert (pack.charge_energy_kwh, pack.discharge_energy_kwh) == (
        pytest.approx(physical["charge"], rel=0.01), pytest.approx(physical["discharge"], rel=0.01))


def test_an_existing_catalog_is_used_and_the_system_can_be_chosen(transactional_db: None,
                                                                  example: Path) -> None:
    from tests import factories as f

    f.system("other")
    home = f.system("home", timezone="Asia/Karachi")
    f.inverter("powdrive1", f.array("ground", home))
    report = import_legacy(str(example), "--system", "home")
    assert "solarmon's own catalog is used" in report
    assert set(t.EnergySample.objects.values_list("system_id", "array_id")) == {("home", "ground")}
    # Devices only the samples name go into the chosen system's default structure.
    assert cm.Meter.objects.get().system_id == "home"
    assert cm.BatteryPack.objects.get().system_id == "home"


def test_a_pack_only_its_unit_and_cell_rows_name_is_created(transactional_db: None, old_file: Path) -> None:
    import sqlite3

    with sqlite3.connect(old_file) as conn:
        conn.execute("DELETE FROM battery_bank_samples")
    import_legacy(str(old_file))
    pack = cm.BatteryPack.objects.get()
    assert (pack.pk, pack.batteries.count(), pack.cells.count()) == ("battery1", 2, 30)
    assert t.BatteryUnitSample.objects.count() == 288 and t.BatteryCellSample.objects.count() == 4320


def test_a_half_migrated_file_has_no_catalog_to_import(transactional_db: None, example: Path) -> None:
    """The original's first start on a fresh file adds the columns but leaves its catalogs empty."""
    import sqlite3

    with sqlite3.connect(example) as conn:
        for table in ("inverters", "battery_packs", "meters", "adapters", "systems"):
            conn.execute(f"DELETE FROM {table}")
    report = import_legacy(str(example), "--config", str(EXAMPLE_CONFIG))
    assert "half-migrated shape" in report
    assert list(cm.System.objects.values_list("pk", flat=True)) == ["home"]  # from the config
    assert t.EnergySample.objects.count() == 2880
