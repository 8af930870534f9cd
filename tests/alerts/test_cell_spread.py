"""End to end: the pack simulator pulls one cell away from its neighbours and back.

Polls are given consecutive one-second slots (the time the alert logic goes by), so the test
walks through a minute of pack life in a moment, through the real gateway protocol and driver.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from alerts.models import Alert
from solarmon.demo import DemoRig
from telemetry.ingest import detail_interval_s, detail_slot
from telemetry.models import BatteryCellSample
from telemetry.polling import poll_device, slot_for
from tests.alerts.conftest import ref_of, rule

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

LIMIT_MV, HYSTERESIS_MV, HOLD_S = 50.0, 10.0, 3


# Every poll's cells stored (the default keeps a pack's cell rows a minute apart).
@override_settings(SOLARMON_CELL_INTERVAL_S=0)
def test_a_drifting_cell_raises_the_spread_alert_once_and_clears_it_once(pack_site: DemoRig) -> None:
    spread = rule("cell-spread", high=LIMIT_MV, hysteresis=HYSTERESIS_MV, raise_after_s=HOLD_S,
                  clear_after_s=HOLD_S)
    gateway = pack_site.by_adapter["jk_gateway"]
    gateway.low_cell = (1, 0)  # unit at address 1, first cell
    ref = ref_of("pack1")
    start = slot_for(timezone.now(), 1)
    drops_mv = ([0, 0]            # balanced
                + [70, 0]         # one spike: shorter than the raise delay
                + [70] * 5        # the cell drifts away and stays away
                + [35, 47] * 6    # hovering around the limit, inside the hysteresis band and above
                + [20] * 5)       # back near its neighbours
    spreads = []
    for second, drop in enumerate(drops_mv):
        gateway.low_cell_drop_mv = drop
        slot = start + timedelta(seconds=second)
        assert poll_device(ref, slot).ok
        # The cell rows of the detail interval holding this poll carry its values (the latest).
        detail = detail_slot(slot, detail_interval_s("jk_gateway"))
        volts = [v for v in BatteryCellSample.objects.filter(pack_id="pack1", ts=detail).values_list(
            "voltage", flat=True) if v is not None]
        spreads.append(round((max(volts) - min(volts)) * 1000))
    # What the pack reported: balanced, a spike, far out, hovering both sides of the limit, back.
    assert max(spreads[:2]) < LIMIT_MV - HYSTERESIS_MV and spreads[2] > LIMIT_MV
    assert all(s > LIMIT_MV for s in spreads[4:9])
    hovering = spreads[9:21]
    assert any(s > LIMIT_MV for s in hovering)
    assert any(LIMIT_MV - HYSTERESIS_MV < s <= LIMIT_MV for s in hovering)
    assert all(s < LIMIT_MV - HYSTERESIS_MV for s in spreads[21:])

    alert = Alert.objects.get(rule=spread)  # exactly one, through spike, hovering and return
    assert alert.device_type == "battery_pack" and alert.device_id == "pack1"
    assert alert.raised_at == start + timedelta(seconds=4 + HOLD_S)
    assert alert.values["spread_mv"] == spreads[4 + HOLD_S] and alert.values["min_cell"] == "pack1_b0_c0"
    assert alert.state == "cleared"
    assert alert.cleared_at == start + timedelta(seconds=21 + HOLD_S)
    assert alert.clear_values["spread_mv"] < LIMIT_MV - HYSTERESIS_MV
