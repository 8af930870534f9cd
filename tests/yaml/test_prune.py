"""``--prune`` deletes what the file no longer names, says so, and never drops recorded data silently."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management.base import CommandError

from catalog import models as m
from tests.yaml.conftest import EXAMPLE, catalog_dump, counts_line, run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

WriteYaml = Callable[..., Path]


def _without_senergy() -> str:
    """The example with senergy1 (and its adapter) gone, and the Pytes pack down to 3 batteries."""
    text = EXAMPLE.read_text()
    start = text.index("  - id: senergy1")
    end = text.index("battery_bank_arrays:")
    return (text[:start] + "\n" + text[end:]).replace("[powdrive2, senergy1]", "[powdrive2]").replace(
        "batteries: 4\n    cells_per_battery: 15", "batteries: 3\n    cells_per_battery: 15")


def _record_sample(inverter_id: str) -> None:
    try:
        samples = apps.get_model("telemetry", "EnergySample")
    except LookupError:
        pytest.skip("the telemetry sample tables do not exist yet")
    inverter = m.Inverter.objects.get(pk=inverter_id)
    samples.objects.create(ts=datetime(2025, 5, 1, 12, tzinfo=UTC), inverter_id=inverter.pk,
                           array_id=inverter.array_id, system_id=inverter.system_id)


def test_without_prune_unnamed_rows_stay(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(EXAMPLE))
    output = run("import_yaml", str(write_yaml(_without_senergy())))
    assert counts_line(output, "inverters") == (0, 0, 2, 0)
    assert m.Inverter.objects.filter(pk="senergy1").exists()
    assert m.Battery.objects.filter(pack="battery1").count() == 4


def test_prune_deletes_and_names_what_the_file_dropped(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(EXAMPLE))
    output = run("import_yaml", str(write_yaml(_without_senergy())), "--prune")
    assert counts_line(output, "inverters") == (0, 0, 2, 1)
    assert counts_line(output, "adapters") == (0, 0, 6, 1)
    assert counts_line(output, "batteries") == (0, 0, 3 + 2, 1)
    assert counts_line(output, "battery_cells") == (0, 0, 3 * 15 + 2 * 16, 15)
    assert "delete from inverters: senergy1" in output
    assert "delete from adapters: senergy1_adapter" in output
    assert not m.Inverter.objects.filter(pk="senergy1").exists()
    assert not m.Adapter.objects.filter(pk="senergy1_adapter").exists()
    kept = m.Battery.objects.filter(pack="battery1").values_list("battery_index", flat=True)
    assert sorted(kept) == [0, 1, 2]
    assert m.BatteryCell.objects.filter(pack="battery1").count() == 45


def test_prune_dry_run_lists_deletions_and_writes_nothing(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(EXAMPLE))
    before = catalog_dump()
    output = run("import_yaml", str(write_yaml(_without_senergy())), "--prune", "--dry-run")
    assert "would delete from inverters: senergy1" in output
    assert counts_line(output, "inverters") == (0, 0, 2, 1)
    assert catalog_dump() == before


def test_prune_refuses_to_take_samples_along_without_force(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(EXAMPLE))
    _record_sample("senergy1")
    _record_sample("powdrive1")
    before = catalog_dump()
    path = write_yaml(_without_senergy())
    with pytest.raises(CommandError) as err:
        run("import_yaml", str(path), "--prune")
    assert "would also delete recorded data (energy_samples: 1)" in str(err.value)
    assert "--prune --force" in str(err.value)
    assert catalog_dump() == before


def test_prune_with_force_deletes_the_samples_and_says_how_many(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(EXAMPLE))
    _record_sample("senergy1")
    _record_sample("powdrive1")
    output = run("import_yaml", str(write_yaml(_without_senergy())), "--prune", "--force")
    assert "delete recorded data along with them: energy_samples: 1" in output
    samples = apps.get_model("telemetry", "EnergySample")
    assert list(samples.objects.values_list("inverter_id", flat=True)) == ["powdrive1"]


def test_prune_removes_attachments_the_file_dropped(write_yaml: WriteYaml) -> None:
    run("import_yaml", str(EXAMPLE))
    text = EXAMPLE.read_text()
    dropped = text.replace("  - battery_bank_array_id: battery_array2\n    inverter_array_id: array2\n"
                           "    attached_since: \"2025-01-01T00:00:00+05:00\"\n    detached_at: null\n", "")
    assert dropped != text
    output = run("import_yaml", str(write_yaml(dropped)), "--prune")
    assert counts_line(output, "battery_array_attachments") == (0, 0, 1, 1)
    assert list(m.BatteryArrayAttachment.objects.values_list("battery_array_id", flat=True)) == [
        "battery_array1"]


def test_force_needs_prune() -> None:
    with pytest.raises(CommandError, match="--force only applies with --prune"):
        run("import_yaml", str(EXAMPLE), "--force")
