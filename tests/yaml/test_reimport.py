"""Re-importing is a no-op, an edited file updates rows in place, and a dry run writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from catalog import models as m
from catalog.services import ensure_default_structure
from tests.yaml.conftest import EXAMPLE, catalog_dump, counts_line, run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

WriteYaml = Callable[..., Path]


def test_importing_the_same_file_twice_changes_nothing() -> None:
    run("import_yaml", str(EXAMPLE))
    before = catalog_dump()
    output = run("import_yaml", str(EXAMPLE))
    assert "0 created, 0 updated, 121 unchanged" in output
    assert catalog_dump() == before  # updated_at included


def test_dry_run_prints_the_plan_and_writes_nothing() -> None:
    output = run("import_yaml", str(EXAMPLE), "--dry-run")
    assert counts_line(output, "inverters") == (3, 0, 0, 0)
    assert counts_line(output, "battery_cells") == (92, 0, 0, 0)
    assert "dry run, nothing written" in output
    assert all(not rows for rows in catalog_dump().values())


def test_dry_run_of_an_edit_counts_updates_without_making_them(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(EXAMPLE))
    before = catalog_dump()
    edited = write_yaml(EXAMPLE.read_text().replace("name: Senergy\n", "name: Senergy (garage)\n"))
    output = run("import_yaml", str(edited), "--dry-run")
    assert counts_line(output, "inverters") == (0, 1, 2, 0)
    assert counts_line(output, "adapters") == (0, 0, 7, 0)
    assert catalog_dump() == before


def test_edited_file_updates_rows_in_place(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(EXAMPLE))
    untouched = m.Inverter.objects.get(pk="powdrive2").updated_at
    text = (EXAMPLE.read_text()
            .replace("host: 192.0.2.31", "host: 192.0.2.32")            # senergy1's adapter
            .replace("inverter_ids: [powdrive2, senergy1]", "inverter_ids: [powdrive2]")
            .replace("inverter_ids: [powdrive1]", "inverter_ids: [powdrive1, senergy1]")
            .replace("    array_id: array1\n    model: \"SE 6KW\"",
                     "    array_id: array2\n    model: \"SE 6KW\"")
            .replace("batteries: 4\n    cells_per_battery: 15", "batteries: 5\n    cells_per_battery: 15"))
    output = run("import_yaml", str(write_yaml(text)))
    assert counts_line(output, "inverters") == (0, 1, 2, 0)
    assert counts_line(output, "adapters") == (0, 1, 6, 0)
    assert counts_line(output, "batteries") == (1, 0, 4 + 2, 0)
    assert counts_line(output, "battery_cells") == (15, 0, 92, 0)
    senergy = m.Inverter.objects.select_related("adapter").get(pk="senergy1")
    assert senergy.array_id == "array2"
    assert senergy.adapter is not None and senergy.adapter.config_json["host"] == "192.0.2.32"
    assert m.Inverter.objects.get(pk="powdrive2").updated_at == untouched
    assert m.Battery.objects.filter(pack="battery1").count() == 5


def test_import_over_the_default_structure_keeps_its_ids(write_yaml: WriteYaml) -> None:
    ensure_default_structure()
    output = run("import_yaml", str(EXAMPLE))
    # system, array1 and battery_array1 exist already; their names change to the file's.
    assert counts_line(output, "systems") == (0, 1, 0, 0)
    assert counts_line(output, "arrays") == (1, 1, 0, 0)
    attachment = m.BatteryArrayAttachment.objects.get(battery_array="battery_array1")
    assert attachment.attached_since.isoformat() == "2024-12-31T19:00:00+00:00"
    assert m.BatteryArrayAttachment.objects.count() == 2


def test_moving_a_battery_array_detaches_the_old_attachment(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(EXAMPLE))
    text = EXAMPLE.read_text()
    head, _, tail = text.partition("battery_bank_array_attachments:\n")
    moved = ("battery_bank_array_attachments:\n"
             "  - battery_bank_array_id: battery_array1\n    inverter_array_id: array2\n"
             "    attached_since: \"2025-06-01T00:00:00+05:00\"\n")
    output = run("import_yaml", str(write_yaml(head + moved + tail[tail.index("meters:"):])))
    # battery_array2 → array2 is not named any more and gives way: it is detached, not deleted.
    assert counts_line(output, "battery_array_attachments") == (1, 2, 0, 0)
    active = m.BatteryArrayAttachment.objects.filter(detached_at__isnull=True)
    assert list(active.values_list("battery_array_id", "inverter_array_id")) == [("battery_array1", "array2")]
    assert m.BatteryArrayAttachment.objects.count() == 3
    assert m.BatteryArrayAttachment.objects.filter(detached_at__isnull=False).count() == 2


def test_model_validation_errors_are_mapped_to_yaml_lines_and_roll_back(write_yaml: WriteYaml) -> None:
    # Name lengths are only checked by the models: the last line of defence, run while saving.
    text = EXAMPLE.read_text().replace("name: Powdrive 2\n", f"name: {'P' * 201}\n").replace(
        "name: Senergy\n", f"name: {'S' * 202}\n")
    path = write_yaml(text)
    lines = text.splitlines()
    powdrive2_line = next(n for n, line in enumerate(lines, 1) if line.strip() == f"name: {'P' * 201}")
    senergy_line = next(n for n, line in enumerate(lines, 1) if line.strip() == f"name: {'S' * 202}")
    with pytest.raises(CommandError) as err:
        run("import_yaml", str(path))
    message = str(err.value)
    assert f"inverters[1].name: Ensure this value has at most 200 characters (it has 201). " \
           f"(config.yaml line {powdrive2_line})" in message
    assert f"(it has 202). (config.yaml line {senergy_line})" in message
    assert all(not rows for rows in catalog_dump().values())
