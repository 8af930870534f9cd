"""End to end: the simulated installation is polled through the real drivers and stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from solarmon.demo import DemoRig
from telemetry import models as t
from telemetry import polling
from telemetry.choices import DeviceState
from telemetry.derive import derive_samples
from telemetry.dispatch import group_by_bus
from telemetry.selectors import latest_by_device
from telemetry.tasks import poll_bus
from tests.telemetry.conftest import simulator_for

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


def _poll_all(slot_offset_s: int = 0) -> dict[str, polling.PollOutcome]:
    slot = polling.slot_for(timezone.now(), 5) + timedelta(seconds=slot_offset_s)
    outcomes = {ref.key: polling.poll_device(ref, slot) for ref in polling.device_refs()}
    derive_samples("system", slot)
    return outcomes


def test_every_device_of_the_installation_is_stored_with_units_and_cells(installation: DemoRig) -> None:
    outcomes = _poll_all()
    assert {k: o.error for k, o in outcomes.items() if not o.ok} == {}
    assert set(t.EnergySample.objects.values_list("inverter_id", flat=True)) == {
        "powdrive1", "senergy1", "powdrive2"}
    assert t.MeterSample.objects.get().meter_id == "grid_meter_1"
    assert set(t.BatteryBankSample.objects.values_list("pack_id", flat=True)) == {"battery1", "jkbms_bank"}
    assert t.BatteryUnitSample.objects.filter(pack_id="battery1").count() == 2
    assert t.BatteryCellSample.objects.filter(pack_id="battery1").count() == 2 * 16
    assert t.BatteryUnitSample.objects.filter(pack_id="jkbms_bank").count() == 2
    assert t.BatteryCellSample.objects.filter(pack_id="jkbms_bank").count() == 2 * 16
    # Unit numbers and cell indexes land on the catalog rows created for them.
    cell = t.BatteryCellSample.objects.get(pack_id="battery1", power=2, cell=15)
    assert cell.cell_ref_id == "battery1_b1_c15" and cell.battery_id == "battery1_b1"


def test_array_samples_are_the_sums_of_their_inverters(installation: DemoRig) -> None:
    _poll_all()
    rows = {s.inverter_id: s for s in t.EnergySample.objects.all()}
    array1 = t.ArraySample.objects.get(array_id="array1")
    assert array1.pv_power_w == rows["powdrive1"].pv_power_w + rows["senergy1"].pv_power_w
    assert array1.load_power_w == rows["powdrive1"].load_power_w + rows["senergy1"].load_power_w
    assert array1.grid_power_w == rows["powdrive1"].grid_power_w + rows["senergy1"].grid_power_w
    assert (array1.inverters_reporting, array1.inverters_total) == (2, 2)
    # The attached JK pack gives array1 its SOC.
    assert array1.batt_soc_pct == pytest.approx(t.BatteryBankSample.objects.get(pack_id="jkbms_bank").soc)
    system = t.SystemSample.objects.get()
    assert system.pv_power_w == sum(r.pv_power_w for r in rows.values())
    # Grid flow is counted once, from the system meter, not added to the inverters' figures.
    assert system.grid_source == "meter"
    assert system.grid_power_w == t.MeterSample.objects.get().grid_power_w


def test_meter_sees_the_sum_of_the_inverters_grid_flows(installation: DemoRig) -> None:
    _poll_all()
    inverters = sum(s.grid_power_w for s in t.EnergySample.objects.all())
    # Polled a few milliseconds apart, so allow the plant's drift between reads.
    assert t.MeterSample.objects.get().grid_power_w == pytest.approx(inverters, abs=60)


def test_a_redelivered_poll_task_adds_no_rows(installation: DemoRig) -> None:
    slot = polling.slot_for(timezone.now(), 5).isoformat()
    keys = [ref.key for ref in polling.device_refs()]
    poll_bus(keys, slot)
    counts = [model.objects.count() for model in (t.EnergySample, t.BatteryCellSample, t.MeterSample,
                                                  t.ArraySample, t.SystemSample)]
    poll_bus(keys, slot)
    assert [model.objects.count() for model in (t.EnergySample, t.BatteryCellSample, t.MeterSample,
                                                t.ArraySample, t.SystemSample)] == counts
    assert counts[0] == 3


def test_a_failing_device_does_not_stop_the_others_and_recovers(installation: DemoRig) -> None:
    sim = simulator_for(installation, "powdrive1_adapter")
    sim.inject(no_reply=True)
    outcomes = _poll_all()
    assert not outcomes["inverter:powdrive1"].ok
    assert "timeout" in outcomes["inverter:powdrive1"].error.lower() or outcomes["inverter:powdrive1"].error
    assert all(o.ok for k, o in outcomes.items() if k != "inverter:powdrive1")
    status = t.DeviceStatus.objects.get(device_id="powdrive1")
    assert status.consecutive_failures == 1 and status.last_error
    assert not t.EnergySample.objects.filter(inverter_id="powdrive1").exists()
    # A second failure backs off: the next try is further away than one interval.
    _poll_all(5)
    status.refresh_from_db()
    assert status.consecutive_failures == 2
    assert status.next_poll_at > status.last_error_at + timedelta(seconds=status.poll_interval_s * 1.5)
    sim.clear_faults()
    outcomes = _poll_all(10)
    assert outcomes["inverter:powdrive1"].ok
    status.refresh_from_db()
    assert status.consecutive_failures == 0
    state = latest_by_device("system")[("inverter", "powdrive1")]["status"]["state"]
    assert state == DeviceState.ONLINE


def test_garbage_from_a_device_is_not_stored(installation: DemoRig) -> None:
    sim = simulator_for(installation, "powdrive2_adapter")
    sim.inject(garbage=True)
    outcomes = _poll_all()
    assert not outcomes["inverter:powdrive2"].ok
    assert not t.EnergySample.objects.filter(inverter_id="powdrive2").exists()


def test_pack_fails_over_to_bluetooth_and_back(installation: DemoRig,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polling, "FAILBACK_INTERVAL_S", 0.0)
    gateway = simulator_for(installation, "jk_gateway")
    gateway.fault = "silence"
    _poll_all()
    sample = t.BatteryBankSample.objects.get(pack_id="jkbms_bank")
    assert sample.adapter_id == "jk_ble"
    assert t.DeviceStatus.objects.get(device_id="jkbms_bank").active_adapter_id == "jk_ble"
    gateway.fault = None
    _poll_all(5)
    latest = t.BatteryBankSample.objects.filter(pack_id="jkbms_bank").order_by("-ts").first()
    assert latest is not None and latest.adapter_id == "jk_gateway"


def test_devices_sharing_a_bus_are_polled_in_one_task(installation: DemoRig) -> None:
    refs = polling.device_refs()
    groups = group_by_bus(refs)
    # Every device here has its own bus, except nothing: one group per device.
    assert len(groups) == len(refs)
    senergy = next(r for r in refs if r.device_id == "senergy1")
    twin = polling.DeviceRef("meter", "twin", "system", 5.0, list(senergy.adapters), senergy.owner)
    merged = group_by_bus([*refs, twin])
    assert any({r.device_id for r in g} == {"senergy1", "twin"} for g in merged)


def test_stale_values_are_never_shown_as_live(installation: DemoRig) -> None:
    _poll_all()
    # Six 5-second intervals without a good reading: the last values are stale, not live.
    view = latest_by_device("system", now=timezone.now() + timedelta(seconds=30))
    assert view[("inverter", "powdrive1")]["status"]["state"] == DeviceState.STALE
    assert view[("inverter", "powdrive1")]["latest"]["pv_power_w"] is not None
    # Long silence turns into offline, even though no poll ran to say so.
    view = latest_by_device("system", now=timezone.now() + timedelta(minutes=5))
    assert view[("inverter", "powdrive1")]["status"]["state"] == DeviceState.OFFLINE
