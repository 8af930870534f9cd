"""The system tree: the whole hierarchy in a fixed number of queries, fresh after catalog writes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import models as m
from catalog.selectors import load_system_tree, system_tree
from catalog.services import save_entity
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_the_tree_holds_arrays_inverters_meters_and_the_packs_behind_each_array() -> None:
    h = f.small_hierarchy()
    array_meter = f.meter("array1_meter", h["system"], h["arrays"][0], type="grid")
    tree = system_tree("system")
    assert tree is not None and tree.name == "My Solar System"
    assert [(a.array_id, sorted(i.inverter_id for i in a.inverters)) for a in tree.arrays] == [
        ("array1", ["powdrive2", "senergy1"]), ("array2", ["powdrive1"])]
    assert [p.pack_id for p in tree.packs_of("array1")] == ["jkbms_bank_ble"]
    assert [p.pack_id for p in tree.packs_of("array2")] == ["battery1"]
    assert tree.capacity_kwh(tree.packs_of(None)) == pytest.approx(24.2)
    pack = tree.pack("battery1")
    assert pack is not None and [b.battery_index for b in pack.batteries] == [0, 1, 2, 3]
    assert sorted(pack.batteries[3].cells) == list(range(15))
    # Grid counted once: each connection names the meters that measure it.
    assert tree.grid_meters("array1") == [array_meter.pk]
    assert tree.grid_meters("array2") == []
    assert tree.grid_meters(None) == ["grid_meter_1"]


def test_loading_the_tree_takes_the_same_queries_for_a_tiny_and_a_large_system() -> None:
    small = f.system("small")
    f.inverter("s_inv", f.array("s_a", small))
    f.pack("s_pack", f.battery_array("s_ba", small), batteries=1, cells=1)
    large = f.system("large")
    for a in range(4):
        arr = f.array(f"l_a{a}", large)
        for i in range(5):
            f.inverter(f"l_inv{a}_{i}", arr)
        ba = f.battery_array(f"l_ba{a}", large)
        f.attach(ba, arr)
        for p in range(3):
            f.pack(f"l_pack{a}_{p}", ba, batteries=4, cells=16)
    counts = []
    for system_id in ("small", "large"):
        with CaptureQueriesContext(connection) as ctx:
            tree = load_system_tree(system_id)
        assert tree is not None
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 9
    large_tree = load_system_tree("large")
    assert large_tree is not None and len(large_tree.inverters) == 20 and len(large_tree.packs) == 12


def test_a_catalog_change_is_seen_at_the_next_call_and_an_unchanged_catalog_costs_one_query() -> None:
    h = f.small_hierarchy()
    system_tree("system")
    with CaptureQueriesContext(connection) as ctx:
        system_tree("system")
    assert len(ctx.captured_queries) == 1
    # Detaching the battery array leaves array1 with no packs behind it.
    attachment = m.BatteryArrayAttachment.objects.get(battery_array=h["battery_arrays"][0])
    attachment.detached_at = timezone.now()
    save_entity(attachment)
    tree = system_tree("system")
    assert tree is not None and tree.packs_of("array1") == []
    f.inverter("new_inv", h["arrays"][1])
    tree = system_tree("system")
    assert tree is not None and tree.inverter("new_inv") is not None


def test_an_unknown_system_has_no_tree() -> None:
    assert system_tree("nowhere") is None
