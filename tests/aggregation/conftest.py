"""Fixtures for rollup tests: a system with one array, one inverter, a pack and a meter."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories as f


@pytest.fixture
def site(db: Any) -> dict[str, Any]:
    """One system in Asia/Karachi: array1 with inverter inv1 (8 kW), pack1 (10 kWh), a grid meter."""
    return make_site("Asia/Karachi")


def make_site(tz: str, *, meter: bool = True) -> dict[str, Any]:
    sys = f.system("system", timezone=tz)
    arr = f.array("array1", sys)
    inv = f.inverter("inv1", arr, rated_power_w=8000)
    ba = f.battery_array("battery_array1", sys)
    pack = f.pack("battery1", ba, nominal_kwh=10.0)
    f.attach(ba, arr)
    out = {"system": sys, "array": arr, "inverter": inv, "battery_array": ba, "pack": pack}
    if meter:
        out["meter"] = f.meter("grid_meter_1", sys, type="grid")
    return out
