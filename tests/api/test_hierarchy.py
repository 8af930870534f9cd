"""GET /api/systems/{id}/hierarchy/: the whole tree, live state, and a query count independent of size."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from catalog import models as m
from catalog.api.hierarchy import build_tree
from catalog.api.hierarchy_serializers import SystemTreeSerializer
from catalog.selectors import system_tree
from catalog.services import save_entity
from telemetry import models as t
from telemetry.selectors import LATEST_WINDOW, device_states, forget_device_states
from tests.api.volume import system_of

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

# The catalog tables read at every request (edited in place without an updated_at); the others
# (system, arrays, inverters, meters, battery arrays, packs) are rendered once per change.
CATALOG_TABLES = ["battery_pack_adapters", "batteries", "battery_array_attachments"]
# The token with its user (solarmon.api.authentication), then the fingerprint of the tables
# rendered once.
REQUEST_QUERIES = 2
# A change to those tables: the system row and one query per catalog table of the tree.
CATALOG_CHANGE_QUERIES = 1 + 8
# telemetry.selectors.device_states: the statuses, and only after a new reading the catalog's
# fingerprint (the system tree held by the process) and, per device kind (inverter, pack,
# meter), the newest timestamp of each device and those rows.
STATUS_QUERIES = 1
NEW_READING_QUERIES = 1 + 3 * 2


@pytest.mark.parametrize("devices_per_kind", [1, 50])
def test_hierarchy_runs_the_same_number_of_queries_for_1_and_50_devices(
        staff_api: APIClient, django_assert_num_queries: Any, devices_per_kind: int) -> None:
    system_of(devices_per_kind)
    system_tree("site")  # held by the process, as after any poll or earlier request
    forget_device_states()  # every device has a reading this process has not read yet
    for catalog_change, new_reading, cells in ((True, True, False), (False, False, False),
                                               (False, False, True), (False, True, False)):
        if new_reading:
            forget_device_states()
        expected = (REQUEST_QUERIES + CATALOG_CHANGE_QUERIES * int(catalog_change) + len(CATALOG_TABLES)
                    + int(cells) + STATUS_QUERIES + NEW_READING_QUERIES * int(new_reading))
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


def _inverter_power(api: APIClient, system_id: str, inverter_id: str) -> Any:
    body = api.get(f"/api/systems/{system_id}/hierarchy/").json()
    inverter = next(i for a in body["arrays"] for i in a["inverters"] if i["inverter_id"] == inverter_id)
    return inverter["latest"] and inverter["latest"]["pv_power_w"]


def test_hierarchy_shows_a_new_reading_at_the_next_request(staff_api: APIClient, db: None) -> None:
    system_of(2)
    assert _inverter_power(staff_api, "site", "inv1") == 1001
    # A poll: its sample first, then its success in the device's status.
    later = timezone.now()
    t.EnergySample.objects.create(ts=later, inverter_id="inv1", array_id="site_array", system_id="site",
                                  pv_power_w=2002)
    t.DeviceStatus.objects.filter(device_id="inv1").update(last_seen=later)
    assert _inverter_power(staff_api, "site", "inv1") == 2002


def test_hierarchy_shows_the_readings_of_a_device_that_has_no_status(staff_api: APIClient,
                                                                      catalog: dict[str, Any]) -> None:
    """Samples can arrive without a poll (history moved in from another system)."""
    now = timezone.now()
    t.DeviceStatus.objects.create(device_type="inverter", device_id="powdrive1", system_id="system",
                                  last_seen=now, state="online", poll_interval_s=10.0)
    assert _inverter_power(staff_api, "system", "senergy1") is None
    t.EnergySample.objects.create(ts=now, inverter_id="senergy1", array_id="array1", system_id="system",
                                  pv_power_w=345)
    assert _inverter_power(staff_api, "system", "senergy1") == 345


def test_a_held_reading_stops_being_latest_once_older_than_the_window(catalog: dict[str, Any]) -> None:
    inv = m.Inverter.objects.get(pk="powdrive1")
    now = timezone.now()
    read_at = now - LATEST_WINDOW + timedelta(minutes=1)
    t.DeviceStatus.objects.create(device_type="inverter", device_id="powdrive1", system_id="system",
                                  last_seen=read_at, state="online", poll_interval_s=10.0)
    t.EnergySample.objects.create(ts=read_at, inverter=inv, array=inv.array, system_id="system",
                                  pv_power_w=100)
    key = ("inverter", "powdrive1")
    latest = device_states("system", now)[key]["latest"]
    assert latest is not None and latest["pv_power_w"] == 100
    assert device_states("system", now + timedelta(minutes=2))[key]["latest"] is None


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


def test_hierarchy_answers_what_rendering_the_whole_tree_gives(staff_api: APIClient,
                                                                catalog: dict[str, Any]) -> None:
    now = timezone.now()
    t.DeviceStatus.objects.create(device_type="battery_pack", device_id="battery1", system_id="system",
                                  last_seen=now, state="online", poll_interval_s=10.0)
    t.BatteryBankSample.objects.create(ts=now, pack_id="battery1", battery_array_id="battery_array2",
                                       system_id="system", soc=61.5)
    for cells in (False, True):
        body = staff_api.get("/api/systems/system/hierarchy/", {"cells": cells}).json()
        whole = build_tree(m.System.objects.get(pk="system"), device_states("system"), with_cells=cells)
        assert body == json.loads(JSONRenderer().render(SystemTreeSerializer(whole).data))
    pack = next(p for ba in body["battery_arrays"] for p in ba["packs"] if p["pack_id"] == "battery1")
    assert pack["latest"]["soc"] == 61.5
    cells_of_b0 = m.BatteryCell.objects.filter(battery_id="battery1_b0").count()
    assert len(pack["batteries"][0]["cells"]) == cells_of_b0 > 0


def test_hierarchy_shows_catalog_edits_at_the_next_request(staff_api: APIClient,
                                                           catalog: dict[str, Any]) -> None:
    def body() -> Any:
        return staff_api.get("/api/systems/system/hierarchy/").json()

    assert body()["arrays"][1]["inverters"][0]["name"] != "Garage"
    inverter = m.Inverter.objects.get(pk="powdrive1")
    inverter.name = "Garage"
    save_entity(inverter)
    battery = m.Battery.objects.get(pk="battery1_b2")
    battery.serial_number = "SN-2"  # battery units have no updated_at: read at every request
    save_entity(battery)
    link = m.BatteryPackAdapter.objects.get(pack_id="battery1")
    link.enabled = False
    save_entity(link)
    answer = body()
    assert next(i for a in answer["arrays"] for i in a["inverters"] if i["inverter_id"] == "powdrive1")[
        "name"] == "Garage"
    pack = next(p for ba in answer["battery_arrays"] for p in ba["packs"] if p["pack_id"] == "battery1")
    assert pack["batteries"][2]["serial_number"] == "SN-2"
    assert pack["adapters"][0]["enabled"] is False


def test_hierarchy_of_an_unknown_system_is_404(staff_api: APIClient, catalog: dict[str, Any]) -> None:
    assert staff_api.get("/api/systems/nowhere/hierarchy/").status_code == 404


def test_hierarchy_rejects_a_malformed_cells_flag(staff_api: APIClient, catalog: dict[str, Any]) -> None:
    response = staff_api.get("/api/systems/system/hierarchy/", {"cells": "lots"})
    assert response.status_code == 400
    assert "cells" in response.json()
