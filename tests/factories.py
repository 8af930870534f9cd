"""Builders for catalog rows, used by every app's tests. All writes go through the services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from catalog import models as m
from catalog.services import ensure_pack_units, save_entity


def system(system_id: str = "system", **kw: Any) -> m.System:
    kw.setdefault("name", f"System {system_id}")
    return save_entity(m.System(system_id=system_id, **kw))


def array(array_id: str, sys: m.System, **kw: Any) -> m.InverterArray:
    kw.setdefault("name", f"Array {array_id}")
    return save_entity(m.InverterArray(array_id=array_id, system=sys, **kw))


def adapter(adapter_id: str, adapter_type: str, config: dict[str, Any], **kw: Any) -> m.Adapter:
    return save_entity(m.Adapter(adapter_id=adapter_id, adapter_type_id=adapter_type,
                                 config_json=config, **kw))


def inverter(inverter_id: str, arr: m.InverterArray, **kw: Any) -> m.Inverter:
    kw.setdefault("name", f"Inverter {inverter_id}")
    return save_entity(m.Inverter(inverter_id=inverter_id, array=arr, **kw))


def battery_array(battery_array_id: str, sys: m.System, **kw: Any) -> m.BatteryArray:
    kw.setdefault("name", f"Battery array {battery_array_id}")
    return save_entity(m.BatteryArray(battery_array_id=battery_array_id, system=sys, **kw))


def pack(pack_id: str, ba: m.BatteryArray, batteries: int = 0, cells: int = 0, **kw: Any
         ) -> m.BatteryPack:
    kw.setdefault("name", f"Pack {pack_id}")
    result = save_entity(m.BatteryPack(pack_id=pack_id, battery_array=ba, **kw))
    if batteries:
        ensure_pack_units(result, batteries, cells)
    return result


def attach(ba: m.BatteryArray, arr: m.InverterArray, since: datetime | None = None
           ) -> m.BatteryArrayAttachment:
    return save_entity(m.BatteryArrayAttachment(
        battery_array=ba, inverter_array=arr, attached_since=since or datetime(2025, 1, 1, tzinfo=UTC)))


def meter(meter_id: str, sys: m.System, arr: m.InverterArray | None = None, **kw: Any) -> m.Meter:
    kw.setdefault("name", f"Meter {meter_id}")
    return save_entity(m.Meter(meter_id=meter_id, system=sys, array=arr, **kw))


def small_hierarchy() -> dict[str, Any]:
    """Two arrays, three inverters, two battery arrays with packs, a system meter."""
    sys = system("system", name="My Solar System")
    a1, a2 = array("array1", sys), array("array2", sys)
    inv = [inverter("powdrive2", a1), inverter("senergy1", a1), inverter("powdrive1", a2)]
    ba1, ba2 = battery_array("battery_array1", sys), battery_array("battery_array2", sys)
    p1 = pack("jkbms_bank_ble", ba1, batteries=2, cells=16, nominal_kwh=10.0)
    p2 = pack("battery1", ba2, batteries=4, cells=15, nominal_kwh=14.2)
    attach(ba1, a1)
    attach(ba2, a2)
    grid = meter("grid_meter_1", sys, type="grid")
    return {"system": sys, "arrays": [a1, a2], "inverters": inv, "battery_arrays": [ba1, ba2],
            "packs": [p1, p2], "meter": grid}
