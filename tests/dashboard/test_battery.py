"""Battery page: packs → units → cells, the imbalance highlighted, offline packs without numbers."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from catalog import models as cm
from telemetry import models as t
from tests import factories as f
from tests.dashboard.conftest import api, fits_phone, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(60)]

CELLS_V = [3.301, 3.250, 3.420, 3.310]  # lowest cell 1, highest cell 2: 0.170 V apart
CELLS_C = [24.0, 24.5, 26.0, 25.0]


def write_pack_reading(pack: cm.BatteryPack, soc: float, age_s: float, cells: list[float]) -> None:
    ts = timezone.now() - timedelta(seconds=age_s)
    t.BatteryBankSample.objects.create(ts=ts, pack=pack, battery_array_id=pack.battery_array_id,
                                       system_id=pack.system_id, voltage=13.28, current=-4.5, power_w=-60.0,
                                       soc=soc, temperature=25.0, cycles=321)
    battery = cm.Battery.objects.get(pack=pack, battery_index=0)
    t.BatteryUnitSample.objects.create(ts=ts, battery=battery, pack=pack,
                                       battery_array_id=pack.battery_array_id, system_id=pack.system_id,
                                       power=1, voltage=13.28, current=-4.5, temperature=25.0, soc=soc,
                                       cycles=321)
    for index, (volts, temp) in enumerate(zip(cells, CELLS_C, strict=True)):
        t.BatteryCellSample.objects.create(
            ts=ts, cell_ref=cm.BatteryCell.objects.get(battery=battery, cell_index=index), battery=battery,
            pack=pack, battery_array_id=pack.battery_array_id, system_id=pack.system_id, power=1, cell=index,
            voltage=volts, temperature=temp)


def test_cells_are_shown_with_the_imbalance_highlighted_and_offline_packs_show_no_numbers(page: Any) -> None:
    sys = f.system()
    ba = f.battery_array("battery_array1", sys)
    good = f.pack("pack1", ba, batteries=1, cells=4, name="Shed pack")
    dead = f.pack("pack2", ba, batteries=1, cells=4, name="Old pack")
    write_pack_reading(good, 64.0, 3, CELLS_V)
    write_pack_reading(dead, 12.0, 3600, [3.2] * 4)
    now = timezone.now()
    t.DeviceStatus.objects.create(device_type="battery_pack", device_id="pack1", system=sys,
                                  poll_interval_s=10, last_seen=now - timedelta(seconds=3))
    t.DeviceStatus.objects.create(device_type="battery_pack", device_id="pack2", system=sys,
                                  poll_interval_s=10, last_seen=now - timedelta(hours=1),
                                  consecutive_failures=9,
                                  last_error="no answer on /dev/ttyUSB1")

    page.goto("/battery/")
    shed = page.locator('[data-pack="pack1"]')
    latest = api(page, "/api/systems/system/hierarchy/")["battery_arrays"][0]["packs"][0]["latest"]
    shown_soc = math.floor(latest["soc"] + 0.5)  # the page rounds half up, not to the even neighbour
    assert shed.locator('.figures [data-field="soc"]').first.inner_text() == f"{shown_soc} %"
    assert shed.locator('.figures [data-field="cycles"]').first.inner_text() == str(latest["cycles"])
    unit = shed.locator('[data-battery="pack1_b0"]')
    shown = [float(v.split()[0]) for v in unit.locator('.cells [data-field="voltage"]').all_inner_texts()]
    assert shown == CELLS_V
    assert unit.locator(".cells li.min").get_attribute("data-cell") == "1"
    assert unit.locator(".cells li.max").get_attribute("data-cell") == "2"
    delta = unit.locator('[data-field="delta"]')
    assert delta.inner_text() == "0.170 V" and "alarm" in (delta.get_attribute("class") or "")
    assert "26.0 °C" in unit.locator('.cells li[data-cell="2"]').inner_text()

    old = page.locator('[data-pack="pack2"]')
    assert old.get_attribute("data-state") == "offline"
    assert old.locator(".figures").count() == 0 and old.locator(".cells").count() == 0
    assert "no answer on /dev/ttyUSB1" in old.inner_text()
    screenshot(page, "battery-desktop")
    fits_phone(page)
    screenshot(page, "battery-phone")
