"""GET /api/systems/{id}/hierarchy/: the whole tree, live state, and a query count independent of size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import models as m
from telemetry import models as t
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

# One query per catalog table the tree shows, counted from the response's shape.
CATALOG_TABLES = ["arrays", "inverters", "meters", "battery_arrays", "battery_packs",
                  "battery_pack_adapters", "batteries", "battery_array_attachments"]
# Token lookup, its user (django-rest-knox), then the system row.
REQUEST_QUERIES = 3
# telemetry.selectors.latest_by_device: statuses, then per device kind (inverter, pack, meter)
# the newest timestamp of each device and those rows.
TELEMETRY_QUERIES = 1 + 3 * 2


def _tree(n: int) -> None:
    """A system with ``n`` inverters, packs (2 units of 2 cells) and meters, each polled once.

    Rows are bulk-inserted with their ancestor ids spelled out: this is volume for the query
    count, and the service-written fixture covers the tree's content.
    """
    sys = f.system("site")
    arr = f.array("site_array", sys)
    ba = f.battery_array("site_ba", sys)
    f.attach(ba, arr)
    ids = range(n)
    m.Inverter.objects.bulk_create(m.Inverter(inverter_id=f"inv{i}", array=arr, system=sys, name="i")
                                   for i in ids)
    m.BatteryPack.objects.bulk_create(m.BatteryPack(pack_id=f"pack{i}", battery_array=ba, system=sys,
                                                    name="p") for i in ids)
    m.Battery.objects.bulk_create(m.Battery(battery_id=f"pack{i}_b{b}", pack_id=f"pack{i}", battery_array=ba,
                                            system=sys, battery_index=b) for i in ids for b in range(2))
    m.BatteryCell.objects.bulk_create(
        m.BatteryCell(cell_id=f"pack{i}_b{b}_c{c}", battery_id=f"pack{i}_b{b}", pack_id=f"pack{i}",
                      battery_array=ba, system=sys, cell_index=c)
        for i in ids for b in range(2) for c in range(2))
    m.Meter.objects.bulk_create(m.Meter(meter_id=f"meter{i}", system=sys, array=arr if i % 2 else None,
                                        name="m", type="grid") for i in ids)
    now = timezone.now()
    t.DeviceStatus.objects.bulk_create(
        t.DeviceStatus(device_type=kind, device_id=f"{prefix}{i}", system=sys, last_seen=now, state="online")
        for i in ids for kind, prefix in (("inverter", "inv"), ("battery_pack", "pack"), ("meter", "meter")))
    t.EnergySample.objects.bulk_create(t.EnergySample(ts=now, inverter_id=f"inv{i}", array=arr, system=sys,
                                                      pv_power_w=1000 + i) for i in ids)
    t.BatteryBankSample.objects.bulk_create(t.BatteryBankSample(ts=now, pack_id=f"pack{i}", battery_array=ba,
                                                                system=sys, soc=50.0) for i in ids)
    t.MeterSample.objects.bulk_create(t.MeterSample(ts=now, meter_id=f"meter{i}", system=sys, grid_power_w=-i)
                                      for i in ids)


@pytest.mark.parametrize("devices_per_kind", [1, 50])
def test_hierarchy_runs_the_same_number_of_queries_for_1_and_50_devices(
        staff_api: APIClient, django_assert_num_queries: Any, devices_per_kind: int) -> None:
    _tree(devices_per_kind)
    for cells in (False, True):
        expected = REQUEST_QUERIES + len(CATALOG_TABLES) + int(cells) + TELEMETRY_QUERIES
        with django_assert_num_queries(expected):
            response = staff_api.get("/api/systems/site/hierarchy/", {"cells": "1" if cells else "0"})
        assert response.status_code == 200
        body = response.json()
        inverters, packs = body["arrays"][0]["inverters"], body["battery_arrays"][0]["packs"]
        assert len(inverters) == len(packs) == devices_per_kind
        assert len(body["meters"]) + len(body["arrays"][0]["meters"]) == devices_per_kind
        assert {i["status"]["state"] for i in inverters} == {"online"}
        powers = sorted(i["latest"]["pv_power_w"] for i in inverters)
        assert powers == [1000 + i for i in range(devices_per_kind)]
        cell_counts = {len(b["cells"]) if cells else b["cells"] for p in packs for b in p["batteries"]}
        expected_cells: set[int | None] = {2} if cells else {None}
        assert cell_counts == expected_cells


def test_hierarchy_nests_every_level_with_ancestor_ids(staff_api: APIClient, catalog: dict[str, Any]) -> None:
    body = staff_api.get("/api/systems/system/hierarchy/", {"cells": "true"}).json()
    assert body["system_id"] == "system" and body["name"] == "My Solar System"
    arrays = {a["array_id"]: a for a in body["arrays"]}
    assert {i["inverter_id"] for i in arrays["array1"]["inverters"]} == {"powdrive2", "senergy1"}
    assert [i["inverter_id"] for i in arrays["array2"]["inverters"]] == ["powdrive1"]
    assert arrays["array2"]["inverters"][0]["adapter_id"] == "powdrive1_adapter"
    battery_arrays = {b["battery_array_id"]: b for b in body["battery_arrays"]}
    assert battery_arrays["battery_array2"]["attached_array_id"] == "array2"
    pack = battery_arrays["battery_array2"]["packs"][0]
    assert pack["pack_id"] == "battery1"
    assert [link["adapter_id"] for link in pack["adapters"]] == ["battery1_pytes"]
    assert [b["battery_index"] for b in pack["batteries"]] == [0, 1, 2, 3]
    cell = pack["batteries"][1]["cells"][2]
    assert (cell["cell_id"], cell["pack_id"], cell["system_id"]) == ("battery1_b1_c2", "battery1", "system")
    assert [meter["meter_id"] for meter in body["meters"]] == ["grid_meter_1"]
    assert {(a["battery_array_id"], a["inverter_array_id"]) for a in body["attachments"]} == {
        ("battery_array1", "array1"), ("battery_array2", "array2")}


def test_hierarchy_shows_each_devices_status_and_latest_values(staff_api: APIClient,
                                                               catalog: dict[str, Any]) -> None:
    now = timezone.now()
    inv = m.Inverter.objects.get(pk="powdrive1")
    t.DeviceStatus.objects.create(device_type="inverter", device_id="powdrive1", system_id="system",
                                  last_seen=now, state="online", poll_interval_s=10.0,
                                  active_adapter_id="powdrive1_adapter")
    t.EnergySample.objects.create(ts=now - timedelta(seconds=5), inverter=inv, array=inv.array,
                                  system_id="system", pv_power_w=2345)
    t.DeviceStatus.objects.create(device_type="meter", device_id="grid_meter_1", system_id="system",
                                  last_seen=datetime(2025, 1, 1, tzinfo=UTC), consecutive_failures=7,
                                  last_error="timeout", state="offline", poll_interval_s=10.0)
    body = staff_api.get("/api/systems/system/hierarchy/").json()
    powdrive1 = next(a for a in body["arrays"] if a["array_id"] == "array2")["inverters"][0]
    assert powdrive1["status"]["state"] == "online"
    assert powdrive1["status"]["active_adapter_id"] == "powdrive1_adapter"
    assert powdrive1["latest"]["pv_power_w"] == 2345
    meter = body["meters"][0]
    assert meter["status"]["state"] == "offline"
    assert (meter["status"]["consecutive_failures"], meter["status"]["last_error"]) == (7, "timeout")
    assert meter["latest"] is None
    never_polled = next(a for a in body["arrays"] if a["array_id"] == "array1")["inverters"][0]
    assert never_polled["status"]["state"] == "unknown" and never_polled["latest"] is None


def test_hierarchy_of_an_unknown_system_is_404(staff_api: APIClient, catalog: dict[str, Any]) -> None:
    assert staff_api.get("/api/systems/nowhere/hierarchy/").status_code == 404


def test_hierarchy_rejects_a_malformed_cells_flag(staff_api: APIClient, catalog: dict[str, Any]) -> None:
    response = staff_api.get("/api/systems/system/hierarchy/", {"cells": "lots"})
    assert response.status_code == 400
    assert "cells" in response.json()
