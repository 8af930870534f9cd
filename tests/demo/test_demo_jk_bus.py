"""The demo's JK-PB bus behaves like a real one in every mode an adapter can be set to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog import models as m
from catalog.services import save_entity
from solarmon.demo import DemoRig
from telemetry import models as t
from telemetry.polling import close_readers, device_refs, poll_device
from tests import factories as f

pytestmark = [pytest.mark.timeout(60)]


@pytest.mark.parametrize("mode", ["trigger", "passive"])
def test_a_demo_jk_pack_is_read_in_trigger_and_in_passive_mode(transactional_db: None, mode: str) -> None:
    pack = f.pack("jkbms_bank", f.battery_array("battery_array1", f.system("system")), batteries=2, cells=16)
    adapter = f.adapter("jk_gateway", "jkbms_tcpip", {
        "host": "192.0.2.48", "port": 5022, "mode": mode, "addresses": [1, 2], "batteries": 2,
        "cells_per_battery": 16, "timeout": 3})
    save_entity(m.BatteryPackAdapter(pack=pack, adapter=adapter, priority=1))
    rig = DemoRig((datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0))
    try:
        [line] = rig.start()
        # Passive listening needs another master's polling: the demo's bus has one, as a real one does.
        assert ("bus master" in line) == (mode == "passive")
        result = poll_device(next(r for r in device_refs() if r.device_id == "jkbms_bank"))
        assert result.ok, result
        cells = t.BatteryCellSample.objects.filter(pack_id="jkbms_bank")
        assert cells.count() == 32 and {c.battery_id for c in cells} == {"jkbms_bank_b0", "jkbms_bank_b1"}
        assert all(2.5 < c.voltage < 3.7 for c in cells)
    finally:
        close_readers()
        rig.stop()
