"""Charts: today's power curves and SOC on the overview, a pack's cells over time on the battery page.

The rows are written straight into the sample tables (the poll path has its own tests), around
now, in a time zone where it is about noon, so the day's curve has hours of data whenever the
suite runs. Each chart must draw what the series API answers, gaps as gaps.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from catalog import models as catalog
from telemetry import models as t
from tests import factories as f
from tests.aggregation.plantdata import fast_insert, inverter_sample, pack_sample, plant_for
from tests.dashboard.conftest import PHONE, Problems, api, new_context, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(90)]

STEP = timedelta(minutes=2)
POWERS = ["pv_power_w", "load_power_w", "batt_power_w", "grid_power_w"]
WEAK_CELL = 2  # sits 25 mV below the others, and sags to 3.05 V once


def _noon_zone() -> tuple[str, int]:
    """A fixed-offset zone where it is now about noon (Etc/GMT-N is UTC+N), and its offset in hours."""
    offset = 12 - datetime.now(UTC).hour
    return f"Etc/GMT{-offset:+d}", offset


@pytest.fixture
def plant(transactional_db: None) -> dict[str, Any]:
    """A system with one inverter and a 4-cell pack, read every 2 minutes since 8 hours ago.

    The inverter's rows have a hole (it stopped reporting for 40 minutes, 3 hours ago) and stop
    20 minutes ago; the system's and the pack's go on to now.
    """
    tz, offset = _noon_zone()
    system = f.system("system", timezone=tz)
    array = f.array("array1", system)
    inverter = f.inverter("inv1", array, rated_power_w=8000)
    battery_array = f.battery_array("battery_array1", system)
    pack = f.pack("pack1", battery_array, batteries=1, cells=4, nominal_kwh=10.0)
    f.attach(battery_array, array)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(hours=8)
    hole = (now - timedelta(hours=3), now - timedelta(hours=2, minutes=20))
    stopped = now - timedelta(minutes=20)
    model = plant_for(start - timedelta(minutes=5), utc_offset_h=offset)
    cells = list(catalog.BatteryCell.objects.filter(pack=pack).order_by("cell_index"))
    sag = now - timedelta(hours=5)
    rows: list[Any] = []
    ts = start
    while ts <= now:
        state = model.state(ts)
        if not (hole[0] <= ts < hole[1]) and ts < stopped:
            rows.append(inverter_sample(inverter, state))
        rows.append(t.SystemSample(ts=ts, system=system, pv_power_w=round(state.pv_w),
                                   load_power_w=round(state.load_w), grid_power_w=round(state.grid_w),
                                   batt_power_w=round(state.battery_w), batt_soc_pct=round(state.soc, 1)))
        rows.append(pack_sample(pack, state))
        for cell in cells:
            volts = 3.30 + state.soc / 2000 - (0.025 if cell.cell_index == WEAK_CELL else 0.0)
            low = 3.05 if cell.cell_index == WEAK_CELL and ts == sag else volts
            rows.append(t.BatteryCellSample(ts=ts, cell_ref=cell, battery_id=cell.battery_id, pack=pack,
                                            battery_array_id=battery_array.pk, system_id=system.pk, power=1,
                                            cell=cell.cell_index, voltage=round(volts, 4), voltage_min=low,
                                            voltage_max=round(volts, 4), temperature=24.0 + cell.cell_index))
        ts += STEP
    for model_type in {type(row) for row in rows}:
        fast_insert([row for row in rows if type(row) is model_type])
    return {"tz": tz, "now": now, "hole": hole, "stopped": stopped, "pack": pack, "cells": cells, "sag": sag}


def _chart(page: Any, selector: str) -> dict[str, Any]:
    """What a chart holds: its data columns, the legend's labels, its x range."""
    return page.eval_on_selector(selector, """el => ({
        data: el.uplot.data, labels: el.uplot.series.map(s => s.label),
        min: el.uplot.scales.x.min, max: el.uplot.scales.x.max})""")


def _expected(answer: dict[str, Any], field: str, part: str = "values") -> list[float | None]:
    return [p[part].get(field) if p["samples"] else None for p in answer["points"]]


def _wait_drawn(page: Any, selector: str, after: str | None = None) -> str:
    """Wait until the chart has been drawn (again, after draw number ``after``); its range start."""
    page.wait_for_function(f"""() => {{ const el = document.querySelector({selector!r});
        return el && el.uplot && el.dataset.drawn && el.dataset.drawn !== {after or ""!r}; }}""")
    return str(page.get_attribute(selector, "data-start"))


def _wait_attribute(page: Any, selector: str, name: str, wanted: Any, within_s: float = 15) -> str:
    """Wait until the chart's attribute ``name`` satisfies ``wanted``; its value (fails if never)."""
    deadline = time.monotonic() + within_s
    while True:
        value = str(page.get_attribute(selector, name))
        if wanted(value):
            return value
        assert time.monotonic() < deadline, f"{selector} {name} stayed {value}"
        page.wait_for_timeout(100)


def _draws(page: Any, selector: str) -> str:
    return str(page.get_attribute(selector, "data-drawn"))


def _x_of(page: Any, selector: str, ts: float) -> tuple[float, float]:
    """Viewport coordinates of time ``ts`` (epoch seconds), in the middle of the plot's height."""
    page.locator(selector + " .u-over").scroll_into_view_if_needed()
    box = page.eval_on_selector(selector, """(el, ts) => { const r = el.uplot.over.getBoundingClientRect();
        return [r.left + el.uplot.valToPos(ts, "x"), r.top + r.height / 2]; }""", ts)
    return float(box[0]), float(box[1])


def _shown(value: float) -> int:
    """A value as the page rounds it to whole units: half away from zero (JavaScript's toFixed and
    Math.round of the magnitude), where Python's round() would go to the even neighbour."""
    return math.floor(abs(value) + 0.5)


def _digits(text: str) -> int:
    sign = -1 if text.strip().startswith("-") else 1
    return sign * int(re.sub(r"\D", "", text))


def test_the_overview_draws_todays_power_and_soc_as_the_api_answers_and_reads_values_on_hover(
        plant: dict[str, Any], page: Any) -> None:
    page.goto("/")
    _wait_drawn(page, "#curves .curves-chart")
    url = page.get_attribute("#curves", "data-url")
    answer = api(page, url)
    shown = _chart(page, "#curves .curves-chart")
    assert shown["labels"][1:] == ["PV", "Load", "Battery (+ charging)", "Grid (+ import)", "SOC"]
    assert answer["timezone"] == plant["tz"]
    assert shown["data"][0] == [datetime.fromisoformat(p["ts"].replace("Z", "+00:00")).timestamp()
                                for p in answer["points"]]
    for column, field in enumerate([*POWERS, "batt_soc_pct"], start=1):
        assert shown["data"][column] == _expected(answer, field), field
    # The x axis is the whole local day (midnight to midnight in the system's zone).
    zone = ZoneInfo(plant["tz"])
    midnight = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    assert (shown["min"], shown["max"]) == (midnight.timestamp(), (midnight + timedelta(days=1)).timestamp())
    assert sum(v is not None for v in shown["data"][1]) >= 60  # hours of today, at most 1000 points
    assert len(shown["data"][0]) <= 1000

    # Pointing at a time shows the API's values of that bucket in the legend.
    index = max(i for i, p in enumerate(answer["points"]) if p["samples"]) - 30
    page.mouse.move(*_x_of(page, "#curves .curves-chart", shown["data"][0][index]))
    page.wait_for_function("() => document.querySelector('#curves .curves-chart').dataset.cursorTs != ''")
    # The bucket the cursor snapped to (the aimed one, or its neighbour when a pixel rounds over).
    cursor = int(page.locator("#curves .curves-chart").get_attribute("data-cursor-ts") or 0)
    assert abs(cursor - shown["data"][0][index]) <= 300
    point = next(p for p, ts in zip(answer["points"], shown["data"][0], strict=True) if int(ts) == cursor)
    values = page.locator("#curves .u-legend .u-series .u-value").all_inner_texts()
    for field, text in zip(POWERS, values[1:5], strict=True):
        assert _digits(text) == _shown(point["values"][field]), field
    assert values[5] == f"{_shown(point['values']['batt_soc_pct'])} %"
    assert page.locator("#curves").get_attribute("data-live") == "live"
    screenshot(page, "overview")


def test_the_overview_chart_fills_in_as_readings_arrive(plant: dict[str, Any], page: Any) -> None:
    page.goto("/?refresh=1")
    chart = "#curves .curves-chart"
    _wait_drawn(page, chart)
    later = plant["now"] + timedelta(minutes=4)  # a bucket of today that had no reading yet
    stamp = later.timestamp()
    index = max(i for i, x in enumerate(_chart(page, chart)["data"][0]) if x <= stamp)  # its bucket
    assert _chart(page, chart)["data"][1][index] is None
    t.SystemSample.objects.create(ts=later, system_id="system", pv_power_w=4321, load_power_w=600,
                                  grid_power_w=0, batt_power_w=3721, batt_soc_pct=61.0)
    page.wait_for_function(f"() => document.querySelector({chart!r}).uplot.data[1][{index}] === 4321")


def test_dragging_zooms_into_a_finer_range_and_a_double_click_shows_the_day_again(
        plant: dict[str, Any], page: Any) -> None:
    page.goto("/")
    chart = "#curves .curves-chart"
    day_start = _wait_drawn(page, chart)
    day_step = int(page.get_attribute(chart, "data-step") or 0)
    left = (plant["now"] - timedelta(hours=2)).timestamp()
    right = (plant["now"] - timedelta(hours=1)).timestamp()
    x1, y = _x_of(page, chart, left)
    x2, _ = _x_of(page, chart, right)
    page.mouse.move(x1, y)
    page.mouse.down()
    page.mouse.move(x2, y, steps=5)
    page.mouse.up()
    # A live update may redraw the day in between: wait for the zoomed range's own data.
    _wait_attribute(page, chart, "data-start", lambda start: start != day_start)
    shown = _chart(page, chart)
    pixel_s = (right - left) / (x2 - x1)
    assert abs(shown["min"] - left) <= 2 * pixel_s and abs(shown["max"] - right) <= 2 * pixel_s
    assert int(page.get_attribute(chart, "data-step") or 0) < day_step  # finer data for the hour
    answer = api(page, page.get_attribute("#curves", "data-url"))
    assert shown["data"][1] == _expected(answer, "pv_power_w")
    page.dblclick(chart + " .u-over")
    _wait_attribute(page, chart, "data-start", lambda start: start == day_start)
    assert int(page.get_attribute(chart, "data-step") or 0) == day_step


def test_an_inverter_that_stopped_reporting_shows_a_gap_and_not_live(plant: dict[str, Any], page: Any
                                                                      ) -> None:
    page.goto("/")
    chart = "#curves .curves-chart"
    _wait_drawn(page, chart)
    drawn = _draws(page, chart)
    page.select_option("#curves [data-target]", "inverter:inv1")
    page.wait_for_function("() => document.querySelector('#curves').dataset.url.includes('/inverter/inv1/')")
    _wait_drawn(page, chart, drawn)
    answer = api(page, page.get_attribute("#curves", "data-url"))
    shown = _chart(page, chart)
    assert shown["data"][1] == _expected(answer, "pv_power_w")
    hole = [i for i, ts in enumerate(shown["data"][0]) if plant["hole"][0].timestamp() <= ts
            < plant["hole"][1].timestamp() - answer["step_s"]]
    assert hole and all(shown["data"][c][i] is None for c in range(1, 6) for i in hole)
    # Nothing is drawn across the hole: no coloured pixel (of any curve) in its middle column,
    # while the curves cross the column of a time with readings.
    def coloured_pixels(ts: float) -> int:
        return int(page.eval_on_selector(chart, """(el, ts) => {
            const u = el.uplot, x = Math.round(u.valToPos(ts, "x", true));
            const img = u.ctx.getImageData(x, u.bbox.top, 1, u.bbox.height).data; let n = 0;
            for (let i = 0; i < img.length; i += 4) {
              const rgb = [img[i], img[i + 1], img[i + 2]];
              if (Math.max(...rgb) - Math.min(...rgb) > 60) n++;
            }
            return n; }""", ts))

    middle = (plant["hole"][0] + (plant["hole"][1] - plant["hole"][0]) / 2).timestamp()
    assert coloured_pixels(middle) == 0
    assert coloured_pixels((plant["hole"][0] - timedelta(minutes=30)).timestamp()) > 0
    note = page.locator("#curves [data-note]").inner_text()
    stopped = plant["stopped"].astimezone(ZoneInfo(plant["tz"]))
    assert page.get_attribute("#curves", "data-live") == "stale"
    since = re.match(r"Not live: no readings since (\d\d):(\d\d)", note)
    assert since, note
    shown_at = stopped.replace(hour=int(since[1]), minute=int(since[2]))
    assert abs(shown_at - stopped) <= timedelta(minutes=2), note


def test_the_battery_page_draws_the_cell_band_and_names_the_weakest_cell(plant: dict[str, Any], page: Any
                                                                          ) -> None:
    page.goto("/battery/")
    chart = "#pack-history .cells-chart"
    first = _wait_drawn(page, chart)
    page.wait_for_selector("#pack-history [data-weakest][data-cell]")
    answer = api(page, page.get_attribute("#pack-history", "data-url"))
    shown = _chart(page, chart)
    assert shown["labels"][1:] == ["Highest cell", "Lowest cell", "Mean"]
    assert shown["data"][1] == _expected(answer, "cell_voltage", "max")
    assert shown["data"][2] == _expected(answer, "cell_voltage", "min")
    assert shown["data"][3] == _expected(answer, "cell_voltage")
    assert min(v for v in shown["data"][2] if v is not None) == pytest.approx(3.05)
    weak = plant["cells"][WEAK_CELL]
    weakest = page.locator("#pack-history [data-weakest]")
    assert weakest.get_attribute("data-cell") == weak.pk
    assert f"unit 0, cell {WEAK_CELL}" in weakest.inner_text() and "3.050 V" in weakest.inner_text()
    levels = _chart(page, "#pack-history .levels-chart")
    assert levels["labels"][1:] == ["SOC", "Pack temperature"]

    page.select_option("#pack-history [data-cell]", weak.pk)
    page.wait_for_function("() => document.querySelector('#pack-history .cells-chart').uplot.series.length"
                           " == 5")
    cell = _chart(page, chart)
    start = page.get_attribute(chart, "data-start")
    end = page.get_attribute(chart, "data-end")
    one = api(page, f"/api/series/cell/{weak.pk}/?start={start}&end={end}&points=720")
    assert cell["labels"][4] == f"unit 0 cell {WEAK_CELL}" and cell["data"][4] == _expected(one, "voltage")
    assert start == first
    screenshot(page, "battery")


def test_on_a_phone_the_charts_fit_the_screen_and_a_tap_reads_the_values(
        plant: dict[str, Any], browser: Any, live_server: Any, admin_user: User, problems: Problems) -> None:
    context = new_context(browser, live_server, PHONE, problems, admin_user, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto("/")
        chart = "#curves .curves-chart"
        _wait_drawn(page, chart)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        box = page.locator(chart + " canvas").bounding_box()
        assert box is not None and box["width"] <= PHONE["width"] and box["height"] >= 200
        shown = _chart(page, chart)
        index = max(i for i, v in enumerate(shown["data"][1]) if v is not None) - 10
        page.touchscreen.tap(*_x_of(page, chart, shown["data"][0][index]))
        page.wait_for_function("() => document.querySelector('#curves .curves-chart').dataset.cursorTs != ''")
        ts = float(page.get_attribute(chart, "data-cursor-ts") or 0)
        assert abs(ts - shown["data"][0][index]) <= 2 * (shown["data"][0][1] - shown["data"][0][0])
        screenshot(page, "overview-phone")
        page.goto("/battery/")
        _wait_drawn(page, "#pack-history .cells-chart")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "battery-phone")
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def _touch(cdp: Any, kind: str, points: list[tuple[float, float]]) -> None:
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
        {"x": x, "y": y, "id": n, "radiusX": 4, "radiusY": 4, "force": 1}
        for n, (x, y) in enumerate(points)]})


def test_on_a_phone_two_fingers_spread_apart_zoom_the_overview_into_finer_data(
        plant: dict[str, Any], browser: Any, live_server: Any, admin_user: User, problems: Problems) -> None:
    context = new_context(browser, live_server, PHONE, problems, admin_user, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto("/")
        chart = "#curves .curves-chart"
        _wait_drawn(page, chart)
        drawn, day_step = _draws(page, chart), int(page.get_attribute(chart, "data-step") or 0)
        day = _chart(page, chart)
        at = (plant["now"] - timedelta(hours=2)).timestamp()
        x, y = _x_of(page, chart, at)
        cdp = context.new_cdp_session(page)
        _touch(cdp, "touchStart", [(x - 20, y), (x + 20, y)])
        for spread in (40, 70, 100, 120):  # the fingers move apart: 40 px become 240 px
            _touch(cdp, "touchMove", [(x - spread, y), (x + spread, y)])
        _touch(cdp, "touchEnd", [])
        _wait_drawn(page, chart, drawn)
        zoomed = _chart(page, chart)
        span = (day["max"] - day["min"]) / 6  # six times closer: four hours of the day
        pixel_s = (day["max"] - day["min"]) / float(page.eval_on_selector(chart, "el => el.uplot.bbox.width")
                                                        / page.evaluate("devicePixelRatio"))
        assert abs((zoomed["max"] - zoomed["min"]) - span) <= 4 * pixel_s
        # The time under the fingers stays where it was on the chart.
        share = (at - day["min"]) / (day["max"] - day["min"])
        assert abs(zoomed["min"] + share * (zoomed["max"] - zoomed["min"]) - at) <= 4 * pixel_s
        assert int(page.get_attribute(chart, "data-step") or 0) < day_step  # the hours' finer data
        answer = api(page, page.get_attribute("#curves", "data-url"))
        assert zoomed["data"][1] == _expected(answer, "pv_power_w")
        assert any(v is not None for v in zoomed["data"][1])
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_the_history_page_compares_two_days_and_shows_a_week(plant: dict[str, Any], page: Any) -> None:
    zone = ZoneInfo(plant["tz"])
    today = datetime.now(zone).date()
    yesterday = today - timedelta(days=1)
    noon = datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=zone)
    system = catalog.System.objects.get(pk="system")
    fast_insert([t.SystemSample(ts=noon + timedelta(minutes=10 * i), system=system, pv_power_w=3000 + i,
                                load_power_w=500, grid_power_w=0, batt_power_w=2500 + i, batt_soc_pct=50.0)
                 for i in range(-30, 30)])
    page.goto(f"/history/?period=day&day={today.isoformat()}")
    chart = "#curves .curves-chart"
    _wait_drawn(page, chart)
    drawn = _draws(page, chart)
    page.fill("#curves [data-compare]", yesterday.isoformat())
    page.dispatch_event("#curves [data-compare]", "change")
    _wait_drawn(page, chart, drawn)
    shown = _chart(page, chart)
    assert shown["labels"][6:] == [f"{label} · {yesterday.isoformat()}" for label in
                                   ["PV", "Load", "Battery (+ charging)", "Grid (+ import)", "SOC"]]
    midnight = datetime(today.year, today.month, today.day, tzinfo=zone)
    assert (shown["min"], shown["max"]) == (midnight.timestamp(), (midnight + timedelta(days=1)).timestamp())
    # Yesterday's noon is drawn at today's noon.
    at_noon = shown["data"][0].index((noon + timedelta(days=1)).timestamp())
    assert shown["data"][6][at_noon] == 3000 and shown["data"][1][at_noon] != 3000

    drawn = _draws(page, chart)
    page.select_option("#curves [data-period-choice]", "week")
    _wait_drawn(page, chart, drawn)
    week = _chart(page, chart)
    assert week["max"] - week["min"] == 7 * 86400 and len(week["labels"]) == 6  # no comparison for a week
    answer = api(page, page.get_attribute("#curves", "data-url"))
    assert len(answer["points"]) <= 1000 and week["data"][1] == _expected(answer, "pv_power_w")
    assert max(v for v in week["data"][1] if v is not None) >= 3000  # yesterday is in the week
