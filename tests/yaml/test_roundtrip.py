"""import → export → import is a fixed point, and export writes the §7 shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management.base import CommandError

from catalog import models as m
from tests import factories as f
from tests.yaml.conftest import EXAMPLE, catalog_dump, run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _wipe() -> None:
    m.System.objects.all().delete()
    m.Adapter.objects.all().delete()


def test_export_then_import_changes_nothing_and_exports_the_same_text(tmp_path: Path) -> None:
    run("import_yaml", str(EXAMPLE))
    first = run("export_yaml")
    exported = tmp_path / "exported.yaml"
    exported.write_text(first)
    before = catalog_dump()
    output = run("import_yaml", str(exported))
    assert "0 created, 0 updated" in output
    assert catalog_dump() == before
    assert run("export_yaml") == first


def test_exported_file_rebuilds_the_same_catalog_in_an_empty_database(tmp_path: Path) -> None:
    run("import_yaml", str(EXAMPLE))
    first = run("export_yaml")
    keep = {table: [_without_times(row) for row in rows] for table, rows in catalog_dump().items()}
    _wipe()
    assert not m.Inverter.objects.exists()
    exported = tmp_path / "exported.yaml"
    exported.write_text(first)
    run("import_yaml", str(exported))
    rebuilt = {table: [_without_times(row) for row in rows] for table, rows in catalog_dump().items()}
    assert rebuilt == keep
    assert run("export_yaml") == first


def _without_times(row: dict[str, Any]) -> dict[str, Any]:
    # Surrogate ids of link rows and creation times are the only things a rebuild may change.
    return {key: value for key, value in row.items() if key not in ("created_at", "updated_at", "id")}


def test_export_has_the_spec_s_sections_and_references() -> None:
    run("import_yaml", str(EXAMPLE))
    doc = yaml.safe_load(run("export_yaml"))
    assert list(doc) == ["home", "arrays", "inverters", "battery_bank_arrays", "battery_banks",
                         "battery_bank_array_attachments", "meters", "adapters"]
    assert doc["home"]["id"] == "system"
    arrays = {item["id"]: item for item in doc["arrays"]}
    assert arrays["array1"]["inverter_ids"] == ["powdrive2", "senergy1"]
    meter = doc["meters"][0]
    assert (meter["array_id"], meter["adapter_id"], meter["attachment_target"]) == (
        None, "grid_meter_1_adapter", "system")
    assert [item["id"] for item in doc["adapters"]] == ["grid_meter_1_adapter"]
    jk = next(item for item in doc["battery_banks"] if item["id"] == "jkbms_bank_ble")
    assert [(a["id"], a["type"], a["priority"]) for a in jk["adapters"]] == [
        ("jkbms_bank_ble_adapter_primary", "jkbms_tcpip", 1),
        ("jkbms_bank_ble_adapter_failover", "jkbms_ble", 2)]
    assert (jk["batteries"], jk["cells_per_battery"]) == (2, 16)


def test_export_writes_a_file_when_given_a_path(tmp_path: Path) -> None:
    run("import_yaml", str(EXAMPLE))
    target = tmp_path / "out.yaml"
    assert "wrote" in run("export_yaml", str(target))
    assert target.read_text() == run("export_yaml")


def test_export_keeps_what_the_admin_set_that_yaml_spells_differently(tmp_path: Path) -> None:
    sys = f.system("home1", name="Cabin", timezone="Europe/Berlin")
    array = f.array("roof", sys)
    adapter = f.adapter("inv_link", "senergy", {"transport": "tcp", "host": "192.0.2.9", "type": "senergy"},
                        poll_interval_s=30.0, enabled=False)
    f.inverter("inv", array, adapter=adapter)
    text = run("export_yaml")
    inline = yaml.safe_load(text)["inverters"][0]["adapter"]
    assert inline == {"id": "inv_link", "type": "senergy", "poll_interval_s": 30, "enabled": False,
                      "transport": "tcp", "host": "192.0.2.9"}
    path = tmp_path / "cabin.yaml"
    path.write_text(text)
    run("import_yaml", str(path))
    stored = m.Adapter.objects.get(pk="inv_link")
    assert (stored.poll_interval_s, stored.enabled, stored.config_json) == (
        30.0, False, {"transport": "tcp", "host": "192.0.2.9"})
    assert run("export_yaml") == text


def test_export_refuses_more_than_one_system() -> None:
    f.system("one")
    f.system("two")
    with pytest.raises(CommandError, match="one system"):
        run("export_yaml")
