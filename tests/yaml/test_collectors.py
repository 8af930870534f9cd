"""``collector: NAME`` in an adapter mapping: imported, exported, and bounded intervals."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management.base import CommandError

from catalog import models as m
from tests.yaml.conftest import catalog_dump, run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

YAML = """
home: {id: system, name: Home}
arrays: [{id: array1, name: Array, system_id: system}]
inverters:
  - id: garage_inverter
    name: Garage
    array_id: array1
    adapter: {type: powdrive, transport: tcp, host: 192.0.2.7, collector: pi-garage%s}
"""


def test_an_adapter_names_its_collector_and_the_export_keeps_it(write_yaml: Any) -> None:
    run("import_yaml", str(write_yaml(YAML % "")))
    assert m.Adapter.objects.get(pk="garage_inverter_adapter").collector_id == "pi-garage"
    assert m.Collector.objects.get(pk="pi-garage").last_heartbeat is None  # registered, never seen
    exported = run("export_yaml")
    assert "collector: pi-garage" in exported
    before = catalog_dump()
    assert "0 created, 0 updated" in run("import_yaml", str(write_yaml(exported, "again.yaml")))
    assert catalog_dump() == before


@pytest.mark.parametrize("value", ["1e308", "-5", "0", ".nan"])
def test_a_poll_interval_out_of_bounds_is_reported_and_nothing_is_written(write_yaml: Any,
                                                                          value: str) -> None:
    with pytest.raises(CommandError) as caught:
        run("import_yaml", str(write_yaml(YAML % f", poll_interval_s: {value}")))
    assert "inverters[0].adapter.poll_interval_s" in str(caught.value)
    assert not m.Adapter.objects.exists()


def test_a_collector_name_that_is_not_an_id_is_reported_at_its_line(write_yaml: Any) -> None:
    with pytest.raises(CommandError) as caught:
        run("import_yaml", str(write_yaml(YAML.replace("pi-garage", "'pi garage'") % "")))
    assert "inverters[0].adapter.collector" in str(caught.value)
