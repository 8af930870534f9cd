"""When devices are polled: each system at its own phase of the interval, its devices together."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adapters.simulators.modbus import PowdriveSimulator
from catalog import models as m
from telemetry import models as t
from telemetry.dispatch import dispatch_due
from telemetry.models import DeviceStatus
from telemetry.polling import close_readers, slot_for
from telemetry.tasks import derive_catch_up, poll_bus
from tests import factories as f

pytestmark = pytest.mark.django_db

Sent = list[tuple[str, list[str], datetime, float]]


def _send(sent: Sent) -> Any:
    return lambda owner, keys, slot, expires_s: sent.append((owner, sorted(keys), slot, expires_s))


# ---- the grid ------------------------------------------------------------------------------
def test_fifty_systems_fall_due_spread_over_the_interval_not_all_at_its_boundary() -> None:
    now = datetime(2026, 6, 1, 12, 0, 7, 300000, tzinfo=UTC)
    slots = [slot_for(now, 5, f"home{i:02d}") for i in range(50)]
    assert all(now - timedelta(seconds=5) < slot <= now for slot in slots)
    offsets = Counter(round(slot.timestamp() % 5, 1) for slot in slots)
    # All at one instant before; now no tenth of a second holds more than a few systems, and no
    # second of the interval more than a third of them.
    assert max(offsets.values()) <= 4
    per_second = Counter(int(offset) for offset in offsets.elements())
    assert len(per_second) == 5 and max(per_second.values()) <= 50 // 3


def test_a_systems_slots_are_its_interval_apart_and_a_longer_interval_meets_a_shorter_one() -> None:
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    fives = {slot_for(start + timedelta(seconds=s / 10), 5, "home") for s in range(6000)}  # 10 minutes
    tens = {slot_for(start + timedelta(seconds=s / 10), 10, "home") for s in range(6000)}
    ordered = sorted(fives)
    assert {b - a for a, b in itertools.pairwise(ordered)} == {timedelta(seconds=5)}
    # Whole tenths of a second, so that the times read well in exports.
    assert all(slot.microsecond % 100000 == 0 for slot in ordered)
    # A 10 s pack's slots are slots of the 5 s inverters: the totals at them see both.
    assert {slot for slot in tens if slot >= start} < fives
    # A 5-minute tier of a 5 s device holds 60 of its samples, wherever the phase lies.
    bucket = datetime(2026, 6, 1, 12, 1, tzinfo=UTC)
    assert sum(bucket <= slot < bucket + timedelta(minutes=5) for slot in fives) == 60


def test_the_phase_of_a_system_never_changes_and_another_system_moves_nothing() -> None:
    now = datetime(2026, 6, 1, 12, 0, 7, tzinfo=UTC)
    before = slot_for(now, 5, "home")
    for i in range(20):
        slot_for(now, 5, f"new{i}")
    assert slot_for(now, 5, "home") == before == slot_for(now + timedelta(seconds=3600), 5, "home") - \
        timedelta(seconds=3600)


def test_with_the_spread_turned_off_every_device_is_polled_at_the_intervals_boundary(settings: Any) -> None:
    settings.SOLARMON_POLL_SPREAD = False
    now = datetime(2026, 6, 1, 12, 0, 7, 300000, tzinfo=UTC)
    assert {slot_for(now, 5, f"home{i}") for i in range(10)} == {datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)}


# ---- the dispatcher and the polls ----------------------------------------------------------
@pytest.fixture
def homes(settings: Any) -> Iterator[dict[str, list[str]]]:
    """Three systems of two Modbus TCP inverters each, every inverter its own simulator, polled
    by this process as collector ``house``."""
    settings.SOLARMON_COLLECTOR = "house"
    sims: list[PowdriveSimulator] = []
    homes: dict[str, list[str]] = {}
    m.Collector.objects.create(name="house", last_heartbeat=timezone.now())
    for h in range(3):
        array = f.array(f"home{h}_a", f.system(f"home{h}"))
        for i in range(2):
            sim = PowdriveSimulator(serial=f"PD{h}{i}000001")
            port = sim.serve_tcp(0)
            sim.start()
            sims.append(sim)
            name = f"inv{h}{i}"
            f.inverter(name, array, adapter=f.adapter(f"{name}_ad", "powdrive", {
                "transport": "tcp", "host": "127.0.0.1", "port": port, "timeout": 1.0},
                poll_interval_s=5, collector_id="house"))
            homes.setdefault(f"home{h}", []).append(f"inverter:{name}")
    yield homes
    close_readers()
    for sim in sims:
        sim.stop()


@pytest.mark.timeout(60)
def test_a_systems_devices_share_its_slot_and_its_totals_are_derived_once_at_it(
        homes: dict[str, list[str]]) -> None:
    now = timezone.now()
    sent: Sent = []
    assert dispatch_due(now, _send(sent)) == 6
    slot_of = {key: slot for _, keys, slot, _ in sent for key in keys}
    for system_id, keys in homes.items():
        assert {slot_of[key] for key in keys} == {slot_for(now, 5, system_id)}
    assert len({slot_of[keys[0]] for keys in homes.values()}) == 3  # each system its own time
    for _, keys, slot, _ in sorted(sent, key=lambda s: s[2]):
        poll_bus(keys, slot.isoformat())
    for system_id, keys in homes.items():
        slot = slot_of[keys[0]]
        # The devices' samples and the system's totals carry the slot: both inverters in them.
        assert set(t.EnergySample.objects.filter(system_id=system_id).values_list("ts", flat=True)) == {slot}
        system = t.SystemSample.objects.get(system_id=system_id)
        assert system.ts == slot
        assert system.pv_power_w == sum(pv or 0 for pv in t.EnergySample.objects.filter(
            system_id=system_id).values_list("pv_power_w", flat=True))
        assert t.ArraySample.objects.get(system_id=system_id).inverters_reporting == 2
    # Nothing is left for the catch-up to derive, and each device is next due one interval on.
    DeviceStatus.objects.update(next_poll_at=timezone.now() + timedelta(seconds=5))
    assert derive_catch_up() == 0
    for status in DeviceStatus.objects.all():
        assert status.pending_slot is None and status.missed_polls == 0


@pytest.mark.timeout(90)
def test_a_steady_run_with_lookahead_polls_every_slot_once_and_counts_nothing_missed(
        homes: dict[str, list[str]]) -> None:
    """Dispatch every 2 s looking 4 s ahead, over 30 s of the schedule; each poll runs when its
    slot comes, and some take long enough that the next dispatch finds them still running."""
    start = timezone.now()
    waiting: Sent = []
    for tick in range(16):
        at = start + timedelta(seconds=2 * tick)
        # Every third round, polls whose slot just came report before the dispatch; in the
        # others, those of the last 1.9 s are still running when it runs.
        running_s = 1.9 if tick % 3 else 0.0
        for task in [task for task in waiting if task[2] <= at - timedelta(seconds=running_s)]:
            waiting.remove(task)
            poll_bus(task[1], task[2].isoformat())
        dispatch_due(at, _send(waiting), lookahead_s=4)
    for task in waiting:
        poll_bus(task[1], task[2].isoformat())
    assert sum(DeviceStatus.objects.values_list("missed_polls", flat=True)) == 0
    for system_id, keys in homes.items():
        slots = sorted(t.SystemSample.objects.filter(system_id=system_id).values_list("ts", flat=True))
        # One slot every 5 s on the system's own grid, none left out, each derived once.
        assert [b - a for a, b in itertools.pairwise(slots)] == [timedelta(seconds=5)] * (
            len(slots) - 1)
        assert len(slots) >= 6 and all(slot_for(slot, 5, system_id) == slot for slot in slots)
        for key in keys:
            samples = t.EnergySample.objects.filter(inverter_id=key.split(":")[1])
            assert sorted(samples.values_list("ts", flat=True)) == slots


def test_a_dispatch_reads_no_history_and_claims_its_devices_in_one_statement(
        homes: dict[str, list[str]]) -> None:
    sent: Sent = []
    first = timezone.now()
    dispatch_due(first, _send(sent))
    for _, keys, slot, _ in sent:
        poll_bus(keys, slot.isoformat())
    with CaptureQueriesContext(connection) as ctx:  # one interval on: each device due once more
        assert dispatch_due(first + timedelta(seconds=5), _send(sent), lookahead_s=5) == 6
    statements = [q["sql"] for q in ctx.captured_queries]
    samples = [t.EnergySample, t.SystemSample, t.ArraySample, t.MeterSample, t.BatteryBankSample]
    assert not [sql for sql in statements for model in samples if model._meta.db_table in sql]
    # Three systems, so three slots: their claims are still one statement (an executemany).
    assert len([sql for sql in statements if "UPDATE" in sql]) == 1
