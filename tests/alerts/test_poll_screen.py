"""The poll path's screen against the checks it lets a healthy poll skip.

Each poll kind writes where a poll cannot make its check find the condition (``quiet_when``)
beside the check itself; ``alerts.data.Screen`` merges those limits for a device. Wherever a
poll is within them, no check may find anything wrong, or an alert would be missed. These tests
hold the two together over many polls around every default limit.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.choices import Trigger
from alerts.data import DeviceData, Screen
from alerts.models import AlertRule
from telemetry import models as t
from telemetry.ingest import RowSet

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLLS = 3000

# Values around the default limits (cells 2.9–3.6 V, spread 50 mV, −20–50 °C, no charging below
# 0 °C above 1 A, SOC 20 %, grid 180 V), with the missing and the nonsensical ones.
VOLTS = [None, math.nan, 2.5, 2.89, 2.9, 3.0, 3.3, 3.32, 3.34, 3.6, 3.61]
TEMPS = [None, math.nan, -25.0, -20.0, -1.0, 0.0, 24.0, 50.0, 50.5]
CURRENTS = [None, math.nan, -20.0, 0.0, 0.5, 1.0, 1.5, 15.0]
SOCS = [None, math.nan, 5.0, 19.9, 20.0, 64.0]
GRID_VOLTS = [None, math.nan, 0.0, 179.0, 180.0, 231.0]
POWERS = [None, -900, 0, 800]
ODDS = [True, False, False]

Pick = Callable[[list[Any]], Any]


def pack_rows(*, soc: float | None, current: float | None, temperature: float | None,
              unit_temps: list[float | None], cells: list[tuple[float | None, float | None]]) -> RowSet:
    """A pack's poll: its own row, a row per unit and per cell (voltage, temperature)."""
    scope = {"pack_id": "pack1", "battery_array_id": "battery_array1", "system_id": "system"}
    head = {"ts": T0, "soc": soc, "current": current, "temperature": temperature, **scope}
    units = [{"ts": T0, "battery_id": f"pack1_b{u}", "temperature": c, **scope}
             for u, c in enumerate(unit_temps)]
    rows = [{"ts": T0, "cell_ref_id": f"pack1_c{i}", "battery_id": "pack1_b0", "voltage": v, "temperature": c,
             **scope} for i, (v, c) in enumerate(cells)]
    tables = [(t.BatteryBankSample, [head]), (t.BatteryUnitSample, units), (t.BatteryCellSample, rows)]
    return RowSet(t.BatteryBankSample, "battery_pack", "pack1", "system", T0, tables)  # type: ignore[arg-type]


def pack_poll(pick: Pick) -> RowSet:
    """Two units of four cells; most cells at one voltage and without a temperature of their own."""
    base = pick(VOLTS[2:])
    return pack_rows(soc=pick(SOCS), current=pick(CURRENTS), temperature=pick(TEMPS),
                     unit_temps=[pick(TEMPS), pick(TEMPS)],
                     cells=[(pick(VOLTS) if pick(ODDS) else base, pick(TEMPS) if pick(ODDS) else None)
                            for _ in range(8)])


def inverter_poll(pick: Pick) -> RowSet:
    row = {"ts": T0, "inverter_id": "inv1", "system_id": "system", "soc": pick(SOCS),
           "grid_voltage_v": pick(GRID_VOLTS), "load_power_w": pick(POWERS), "batt_power_w": pick(POWERS)}
    return RowSet(t.EnergySample, "inverter", "inv1", "system", T0, [(t.EnergySample, [row])])


def meter_poll(pick: Pick) -> RowSet:
    row = {"ts": T0, "meter_id": "meter1", "system_id": "system", "grid_voltage_v": pick(GRID_VOLTS)}
    return RowSet(t.MeterSample, "meter", "meter1", "system", T0, [(t.MeterSample, [row])])


POLL_OF = {"battery_pack": pack_poll, "inverter": inverter_poll, "meter": meter_poll}


def poll_rules(device_type: str) -> list[AlertRule]:
    """The default rules a poll of this kind of device is checked against, plus variants with
    the other limits set (a charge rule with an upper limit, a spread rule with none)."""
    rules = [r for r in AlertRule.objects.filter(enabled=True)
             if Trigger.POLL in r.rule_kind.triggers and r.applies_to(device_type, "d", "system")]
    rules.append(AlertRule(kind="charge_temperature", low=0.0, high=45.0, hysteresis=2.0))
    rules.append(AlertRule(kind="cell_spread", high=None))
    rules.append(AlertRule(kind="soc_low", low=None))
    return [r for r in rules if r.applies_to(device_type, "d", "system")]


def bad(rule: AlertRule, rows: RowSet) -> bool:
    verdict = rule.rule_kind.check(rule, DeviceData(rows.device_type, rows.device_id, "system", T0, T0, rows))
    return verdict is not None and verdict[0]


@pytest.mark.parametrize("device_type", sorted(POLL_OF))
def test_a_poll_within_its_rules_limits_is_one_no_check_finds_wrong(device_type: str) -> None:
    pick = random.Random(device_type).choice
    rules = poll_rules(device_type)
    screens = {id(r): Screen(device_type, r.rule_kind.quiet_when(r) or []) for r in rules}
    whole = Screen(device_type, [limit for r in rules for limit in r.rule_kind.quiet_when(r) or []])
    found_bad = {id(r): 0 for r in rules}
    quiet = 0
    for _ in range(POLLS):
        rows = POLL_OF[device_type](pick)
        wrong = [r for r in rules if bad(r, rows)]
        for r in wrong:
            found_bad[id(r)] += 1
            assert not screens[id(r)].passes(rows), (r.kind, rows.tables)
        if whole.passes(rows):
            assert not wrong, (wrong, rows.tables)
            quiet += 1
    # The polls reached both sides: every rule that can find something found it, and some polls
    # of the device were quiet for all its rules.
    assert all(found_bad[id(r)] for r in rules if r.rule_kind.quiet_when(r)), found_bad
    assert 0 < quiet < POLLS


def test_a_cold_pack_at_rest_is_quiet_for_the_charge_rule_but_not_when_it_charges() -> None:
    charge = AlertRule.objects.get(key="charge-temperature")
    screen = Screen("battery_pack", charge.rule_kind.quiet_when(charge) or [])
    for current, charging in ((None, False), (-5.0, False), (0.8, False), (10.0, True)):
        poll = pack_rows(soc=60.0, current=current, temperature=-5.0, unit_temps=[-5.0, -4.0],
                         cells=[(3.3, None)] * 4)
        assert screen.passes(poll) is not charging and bad(charge, poll) is charging
