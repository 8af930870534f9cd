"""A corpus of broken files: each is rejected with its YAML path and line, and nothing changes.

Line numbers below were read off the files in ``malformed/`` by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management.base import CommandError

from tests import factories as f
from tests.yaml.conftest import MALFORMED, catalog_dump, run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

CORPUS: dict[str, list[str]] = {
    "syntax_error.yaml": ["YAML syntax error", "(syntax_error.yaml line 3, column 8)"],
    "unknown_array.yaml": ["inverters[2].array_id: unknown array 'array9' (unknown_array.yaml line 14)"],
    "duplicate_inverter_id.yaml": ["inverters[1].id: duplicate inverter id 'inv1'", "line 8)"],
    "name_is_a_list.yaml": ["arrays[0].name: expected a string, got a list (name_is_a_list.yaml line 5)"],
    "rated_power_not_a_number.yaml": ["inverters[0].rated_power_w: expected a number",
                                      "(rated_power_not_a_number.yaml line 8)"],
    "adapter_port_wrong_type.yaml": ["inverters[0].adapter.port: 'five-oh-two' is not of type 'integer' "
                                     "(adapter_port_wrong_type.yaml line 12)"],
    "unknown_adapter_type.yaml": ["inverters[0].adapter.type: unknown adapter type 'growatt'",
                                  "(unknown_adapter_type.yaml line 9)"],
    "battery_adapter_on_inverter.yaml": ["inverters[0].adapter.type: 'pytes' is a battery adapter, not an "
                                         "inverter adapter (battery_adapter_on_inverter.yaml line 9)"],
    "two_active_attachments.yaml": ["battery_bank_array_attachments[1].battery_bank_array_id: battery bank "
                                    "array 'battery_array1' already has an active attachment",
                                    "(two_active_attachments.yaml line 12)"],
    "inverter_system_mismatch.yaml": ["inverters[0].system_id: 'cabin' does not match the system of array "
                                      "'array1' ('system') (inverter_system_mismatch.yaml line 8)"],
    "inverter_ids_disagree.yaml": ["inverters[0].array_id: 'array2' disagrees with arrays[0].inverter_ids[0]",
                                   "(inverter_ids_disagree.yaml line 9)"],
    "battery_bank_ids_disagree.yaml": ["battery_banks[0].battery_array_id: 'battery_array2' disagrees with "
                                       "battery_bank_arrays[0].battery_bank_ids[0]", "line 9)"],
    "unknown_adapter_id.yaml": ["meters[0].adapter_id: unknown adapter 'grid_meter_9_adapter' "
                                "(unknown_adapter_id.yaml line 6)"],
    "missing_home.yaml": ["home: required"],
    "top_level_list.yaml": ["must be a mapping with a 'home' section, got a list"],
    "unknown_section.yaml": ["inverter: unknown key 'inverter'", "(unknown_section.yaml line 5)"],
    "misspelled_key.yaml": ["inverters[0].arary_id: unknown key 'arary_id'", "(misspelled_key.yaml line 7)"],
    "duplicate_yaml_key.yaml": ["home.name: duplicate key (duplicate_yaml_key.yaml line 4)"],
    "unknown_timezone.yaml": ["home.timezone: unknown timezone 'Mars/Olympus_Mons' (", "line 3)"],
    "bad_attached_since.yaml": ["battery_bank_array_attachments[0].attached_since: expected an ISO 8601",
                                "'yesterday' (bad_attached_since.yaml line 10)"],
    "detached_before_attached.yaml": ["battery_bank_array_attachments[0].detached_at: must be after "
                                      "attached_since (detached_before_attached.yaml line 11)"],
    "meter_target_disagrees.yaml": ["meters[0].attachment_target: 'array1' disagrees with array_id",
                                    "(meter_target_disagrees.yaml line 8)"],
    "rtu_without_serial_port.yaml": ["inverters[0].adapter.serial_port: 'serial_port' is a required property",
                                     "(rtu_without_serial_port.yaml line 8)"],
    "bad_ble_address.yaml": ["battery_banks[0].adapters[1].bt_addresses[1]: 'not-a-mac' does not match",
                             "(bad_ble_address.yaml line 14)"],
    "invalid_id.yaml": ["arrays[0].id: 'ground floor' is not a valid id", "(invalid_id.yaml line 4)"],
    "adapter_used_twice.yaml": ["meters[1].adapter_id: adapter 'shared' is already used by meters[0]",
                                "(adapter_used_twice.yaml line 9)"],
    "duplicate_adapter_id.yaml": ["duplicate adapter id 'inv1_adapter'",
                                  "(duplicate_adapter_id.yaml line 8)"],
    "unknown_config_key.yaml": ["battery_banks[0].adapter.baud: Additional properties are not allowed",
                                "(unknown_config_key.yaml line 11)"],
    "section_not_a_list.yaml": ["arrays: expected a list, got a mapping (section_not_a_list.yaml line 3)"],
    "empty.yaml": ["got an empty file"],
    "cells_without_batteries.yaml": ["battery_banks[0].cells_per_battery: needs batteries",
                                     "(cells_without_batteries.yaml line 8)"],
    # Every problem is reported, not just the first.
    "many_errors.yaml": ["inverters[0].array_id: unknown array 'array7' (many_errors.yaml line 7)",
                         "inverters[1].phase_type: 'four' is not one of", "(many_errors.yaml line 10)",
                         "meters[0].array_id: unknown array 'array8' (many_errors.yaml line 13)",
                         "meters[0].type: 'water' is not one of", "(many_errors.yaml line 14)",
                         "4 problems"],
}


@pytest.fixture
def existing_configuration() -> None:
    """A configuration already in the database, so "nothing changed" has something to keep."""
    sys = f.system("system", name="Existing")
    array = f.array("array1", sys)
    adapter = f.adapter("inv1_adapter", "powdrive", {"transport": "tcp", "host": "192.0.2.10"})
    f.inverter("inv1", array, adapter=adapter)
    battery_array = f.battery_array("battery_array1", sys)
    f.pack("pack1", battery_array, batteries=1, cells=2)
    f.attach(battery_array, array)
    f.meter("grid_meter_1", sys, type="grid")


def test_the_corpus_is_covered() -> None:
    assert sorted(path.name for path in MALFORMED.glob("*.yaml")) == sorted(CORPUS)
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_file_is_rejected_with_its_path_and_line(name: str, existing_configuration: None) -> None:
    before = catalog_dump()
    with pytest.raises(CommandError) as err:
        run("import_yaml", str(MALFORMED / name))
    message = str(err.value)
    assert "nothing was written" in message
    for expected in CORPUS[name]:
        assert expected in message
    assert catalog_dump() == before


def test_malformed_file_is_rejected_by_a_dry_run_too(existing_configuration: None) -> None:
    before = catalog_dump()
    with pytest.raises(CommandError, match="unknown array 'array9'"):
        run("import_yaml", str(MALFORMED / "unknown_array.yaml"), "--dry-run")
    assert catalog_dump() == before


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        run("import_yaml", str(tmp_path / "absent.yaml"))
