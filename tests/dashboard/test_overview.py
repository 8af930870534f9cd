"""The overview: live power flow, device tables and status, read from the API and refreshed in place."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from solarmon.demo import DemoRig
from telemetry import models as t
from tests import factories as f
from tests.dashboard.conftest import api, fits_phone, poll_all, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(60)]


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def direction(kind: str, watts: int) -> str:
    """The word the flow view must show: grid > 0 imports, battery > 0 charges (ARCHITECTURE §4)."""
    if abs(watts) < 10:
        return "idle"
    words = {"grid": ("importing", "exporting"), "battery": ("charging", "discharging"),
             "pv": ("producing", "?"), "load": ("using", "?")}[kind]
    return words[0] if watts > 0 else words[1]


def test_the_overview_shows_what_the_api_says(demo_site: DemoRig, page: Any) -> None:
    poll_all()
    page.goto("/")
    page.wait_for_selector('#flow[data-live="live"]')
    page.wait_for_selector('#packs tbody tr')
    live = api(page, "/api/systems/system/live/")
    tree = api(page, "/api/systems/system/hierarchy/")

    for node, field in (("pv", "pv_power_w"), ("grid", "grid_power_w"), ("load", "load_power_w"),
                        ("battery", "batt_power_w")):
        shown = page.locator(f'[data-node="{node}"]')
        assert digits(shown.locator(".value").inner_text()) == str(abs(live[field])), node
        assert shown.locator(".verb").inner_text().startswith(direction(node, live[field])), node
    assert page.locator('.soc[data-field="batt_soc_pct"]').inner_text() == f"{round(live['batt_soc_pct'])} %"

    states = {(d["device_type"], d["device_id"]): d["state"] for d in live["devices"]}
    for array in tree["arrays"]:
        for inverter in array["inverters"]:
            row = page.locator(f'tr[data-device="inverter:{inverter["inverter_id"]}"]')
            state = states[("inverter", inverter["inverter_id"])]
            assert row.locator(".badge").inner_text() == state == "online"
            assert row.locator('[data-field="pv_power_w"]').get_attribute("data-value") == str(
                inverter["latest"]["pv_power_w"])
            assert digits(row.locator('[data-field="load_power_w"]').inner_text()) == str(
                inverter["latest"]["load_power_w"])
    packs = [p for ba in tree["battery_arrays"] for p in ba["packs"]]
    assert page.locator("#packs tbody tr").count() == len(packs) == 2
    for pack in packs:
        cell = page.locator(f'tr[data-device="battery_pack:{pack["pack_id"]}"] [data-field="soc"]')
        assert cell.inner_text() == f"{round(pack['latest']['soc'])} %"
    meter = tree["meters"][0]
    cell = page.locator(f'tr[data-device="meter:{meter["meter_id"]}"] [data-field="grid_power_w"]')
    assert cell.get_attribute("data-value") == str(meter["latest"]["grid_power_w"])
    screenshot(page, "overview-desktop")
    fits_phone(page)
    screenshot(page, "overview-phone")


def test_the_overview_refreshes_in_place_when_new_samples_arrive(page: Any) -> None:
    sys = f.system()
    f.array("array1", sys)
    now = timezone.now()
    t.SystemSample.objects.create(ts=now - timedelta(seconds=2), system=sys, pv_power_w=1111,
                                  load_power_w=500, grid_power_w=-611, batt_power_w=0, batt_soc_pct=50.0)
    page.goto("/?refresh=1")
    page.wait_for_selector('[data-field="pv_power_w"][data-w="1111"]')
    page.evaluate("window.stillTheSamePage = true")

    t.SystemSample.objects.create(ts=now, system=sys, pv_power_w=2345, load_power_w=500, grid_power_w=1200,
                                  batt_power_w=-800, batt_soc_pct=49.0)

    page.wait_for_selector('[data-field="pv_power_w"][data-w="2345"]')
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.locator('[data-verb="grid"]').inner_text() == "importing 1.2 kW"
    assert page.locator('[data-verb="battery"]').inner_text() == "discharging 800 W"


def test_stale_values_are_greyed_with_their_age_and_offline_devices_show_no_number(page: Any) -> None:
    sys = f.system()
    arr = f.array("array1", sys)
    now = timezone.now()
    seen = {"inv_ok": 2, "inv_stale": 100, "inv_dead": 900}
    for inverter_id, age in seen.items():
        inv = f.inverter(inverter_id, arr)
        t.EnergySample.objects.create(ts=now - timedelta(seconds=age), inverter=inv, array=arr, system=sys,
                                      pv_power_w=1000 + age)
        t.DeviceStatus.objects.create(device_type="inverter", device_id=inverter_id, system=sys,
                                      last_seen=now - timedelta(seconds=age), poll_interval_s=10,
                                      consecutive_failures=6 if inverter_id == "inv_dead" else 0,
                                      last_error="timed out after 0.5 s" if inverter_id == "inv_dead" else "")
    t.SystemSample.objects.create(ts=now - timedelta(minutes=10), system=sys, pv_power_w=3000)

    page.goto("/")
    page.wait_for_selector("#inverters tbody tr")

    assert page.locator("#flow").get_attribute("data-live") == "stale"
    assert page.locator("#flow-freshness").inner_text().startswith("Not live: last reading 10 min ago")
    ok, stale, dead = (page.locator(f'tr[data-device="inverter:{i}"]') for i in seen)
    assert ok.get_attribute("class") == "state-online"
    assert digits(ok.locator('[data-field="pv_power_w"]').inner_text()) == "1002"
    assert stale.get_attribute("class") == "state-stale"
    assert digits(stale.locator('[data-field="pv_power_w"]').inner_text()) == "1100"
    assert stale.locator(".seen").inner_text() == "last seen 2 min ago"
    grey = stale.locator('[data-field="pv_power_w"]').evaluate("e => getComputedStyle(e).fontStyle")
    assert grey == "italic"
    assert dead.get_attribute("class") == "state-offline"
    assert set(dead.locator("td.num").all_inner_texts()) == {"—"}
    assert dead.locator(".error").inner_text() == "timed out after 0.5 s"


def test_empty_installations_say_what_to_do(page: Any) -> None:
    page.goto("/")
    assert page.locator("h1").inner_text() == "No system yet"
    f.system(name="Empty house")
    page.goto("/")
    page.wait_for_selector("#no-devices:not([hidden])")
    advice = page.locator("#no-devices").inner_text().lower()
    assert "no devices yet" in advice and "run discovery" in advice and "import a config" in advice
    assert page.locator("#flow-freshness").inner_text().startswith("No readings yet")
    assert page.locator("#today-empty").is_visible()
    page.goto("/battery/")
    assert "No battery packs yet" in page.locator("main").inner_text()


def test_several_systems_have_a_selector(page: Any) -> None:
    f.system("home", name="Home")
    f.system("shop", name="Shop")
    page.goto("/")
    assert page.locator("h1").inner_text() == "Home"
    page.select_option("#system-select", "shop")
    page.wait_for_url("**/?system=shop")
    assert page.locator("h1").inner_text() == "Shop"
    assert page.locator("a", has_text="History").get_attribute("href") == "/history/?system=shop"
