"""Create, list, retrieve, update, patch and delete every catalog resource as staff."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog import models as m

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@dataclass
class Resource:
    prefix: str
    model: type[Any]
    payload: dict[str, Any]
    change: dict[str, Any]
    derived: dict[str, Any] = field(default_factory=dict)  # values the server fills in

    def pk_of(self, body: dict[str, Any]) -> Any:
        return body.get("id", body.get(self.model._meta.pk.name))


RESOURCES = [
    Resource("systems", m.System, {"system_id": "site2", "name": "Second site", "timezone": "Europe/Berlin"},
             {"name": "Renamed site"}),
    Resource("arrays", m.InverterArray, {"array_id": "array3", "system_id": "system", "name": "Roof"},
             {"name": "Roof east"}),
    Resource("inverters", m.Inverter, {"inverter_id": "senergy9", "array_id": "array2", "name": "Garage",
                                       "phase_type": "three", "rated_power_w": 12000.0},
             {"name": "Garage west"}, {"system_id": "system", "adapter_id": None}),
    Resource("battery-arrays", m.BatteryArray, {"battery_array_id": "ba3", "system_id": "system",
                                                "name": "Shed"}, {"name": "Shed north"}),
    Resource("battery-packs", m.BatteryPack, {"pack_id": "pack9", "battery_array_id": "battery_array1",
                                              "name": "Pack 9", "nominal_kwh": 5.0},
             {"chemistry": "LFP"}, {"system_id": "system"}),
    Resource("batteries", m.Battery, {"battery_id": "battery1_b9", "pack_id": "battery1", "battery_index": 9},
             {"serial_number": "SN-9"}, {"battery_array_id": "battery_array2", "system_id": "system"}),
    Resource("cells", m.BatteryCell, {"cell_id": "battery1_b0_c99", "battery_id": "battery1_b0",
                                      "cell_index": 99},
             {"nominal_voltage": 3.2}, {"pack_id": "battery1", "battery_array_id": "battery_array2"}),
    Resource("meters", m.Meter, {"meter_id": "load_meter", "system_id": "system", "array_id": "array1",
                                 "name": "Load", "type": "consumption"},
             {"serial_number": "WEM-1"}, {"attachment_target": "array1"}),
    Resource("adapters", m.Adapter, {"adapter_id": "senergy_ad", "adapter_type": "senergy",
                                     "config_json": {"transport": "tcp", "host": "127.0.0.1", "port": 502}},
             {"enabled": False}, {"device_category": "inverter", "device_id": None}),
    Resource("pack-adapters", m.BatteryPackAdapter, {"pack_id": "jkbms_bank_ble",
                                                     "adapter_id": "battery1_pytes", "priority": 2},
             {"priority": 3}),
    Resource("attachments", m.BatteryArrayAttachment,
             {"battery_array_id": "battery_array1", "inverter_array_id": "array2",
              "attached_since": "2024-01-01T00:00:00Z", "detached_at": "2024-06-01T00:00:00Z"},
             {"detached_at": "2024-07-01T00:00:00Z"}),
]


def _subset(body: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {key: body.get(key) for key in expected}


@pytest.mark.parametrize("res", RESOURCES, ids=lambda r: r.prefix)
def test_staff_can_create_list_retrieve_update_and_delete(staff_api: APIClient, catalog: Any,
                                                          res: Resource) -> None:
    created = staff_api.post(f"/api/{res.prefix}/", res.payload, format="json")
    assert created.status_code == 201, created.content
    assert _subset(created.json(), {**res.payload, **res.derived}) == {**res.payload, **res.derived}
    pk = res.pk_of(created.json())
    assert res.model.objects.filter(pk=pk).exists()
    detail = f"/api/{res.prefix}/{pk}/"

    listed = staff_api.get(f"/api/{res.prefix}/", {"limit": 1000}).json()
    assert pk in [res.pk_of(row) for row in listed["results"]]
    assert staff_api.get(detail).json() == created.json()

    patched = staff_api.patch(detail, res.change, format="json")
    assert patched.status_code == 200, patched.content
    assert _subset(patched.json(), res.change) == res.change
    assert _subset(staff_api.get(detail).json(), res.change) == res.change

    replacement = {**res.payload, **res.change}
    replaced = staff_api.put(detail, replacement, format="json")
    assert replaced.status_code == 200, replaced.content
    assert _subset(staff_api.get(detail).json(), replacement) == replacement

    assert staff_api.delete(detail).status_code == 204
    assert not res.model.objects.filter(pk=pk).exists()
    assert staff_api.get(detail).status_code == 404


def test_adapter_types_are_listed_from_the_registry_and_read_only(staff_api: APIClient, catalog: Any) -> None:
    from adapters.registry import ADAPTER_TYPES

    listed = staff_api.get("/api/adapter-types/").json()
    assert {row["adapter_type"] for row in listed["results"]} == set(ADAPTER_TYPES)
    pytes = staff_api.get("/api/adapter-types/pytes/").json()
    assert pytes["device_category"] == "battery"
    assert "serial_port" in pytes["config_schema"]["required"]
    assert staff_api.post("/api/adapter-types/", {"adapter_type": "x"}, format="json").status_code == 405
    assert staff_api.delete("/api/adapter-types/pytes/").status_code == 405


def test_filters_narrow_lists_by_parent(staff_api: APIClient, catalog: Any) -> None:
    def ids(url: str, **params: str) -> set[str]:
        return {row["inverter_id"] for row in staff_api.get(url, params).json()["results"]}

    assert ids("/api/inverters/", array_id="array1") == {"powdrive2", "senergy1"}
    assert ids("/api/inverters/", array_id="array2") == {"powdrive1"}
    assert ids("/api/inverters/", system_id="nowhere") == set()
    assert ids("/api/inverters/", search="SENERGY") == {"senergy1"}
    batteries = staff_api.get("/api/batteries/", {"pack_id": "battery1"}).json()
    assert batteries["count"] == 4  # the fixture gave battery1 four units
    cells = staff_api.get("/api/cells/", {"battery_id": "battery1_b0"}).json()
    assert cells["count"] == 3
    meters = staff_api.get("/api/meters/", {"type": "grid", "system_level": "true"}).json()
    assert [row["meter_id"] for row in meters["results"]] == ["grid_meter_1"]
    active = staff_api.get("/api/attachments/", {"active": "true", "battery_array_id": "battery_array2"})
    assert [row["inverter_array_id"] for row in active.json()["results"]] == ["array2"]


def test_lists_are_paginated_and_ordered(staff_api: APIClient, catalog: Any) -> None:
    page = staff_api.get("/api/cells/", {"limit": "10", "offset": "5", "ordering": "-cell_id"}).json()
    every = sorted(m.BatteryCell.objects.values_list("cell_id", flat=True), reverse=True)
    assert page["count"] == len(every) == 2 * 2 + 4 * 3
    assert [row["cell_id"] for row in page["results"]] == every[5:15]
    assert page["next"] and page["previous"]


def test_pages_ordered_by_a_shared_value_do_not_overlap(staff_api: APIClient, catalog: Any) -> None:
    seen: list[str] = []
    for offset in range(0, 16, 3):
        query = {"limit": "3", "offset": str(offset), "ordering": "cell_index"}
        page = staff_api.get("/api/cells/", query).json()
        seen += [row["cell_id"] for row in page["results"]]
    assert sorted(seen) == sorted(m.BatteryCell.objects.values_list("cell_id", flat=True))
