"""The poll path's SQL: a device's poll is its sample write and its status update, whatever its size."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adapters.readings import BatteryUnitReading, CellReading, battery_pack_from_units
from catalog.selectors import load_system_tree, system_tree
from solarmon.demo import DemoRig
from telemetry import ingest, polling
from telemetry import models as t
from telemetry.dispatch import dispatch_due
from telemetry.tasks import poll_bus
from tests import factories as f

TRANSACTION = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    """The statements that read or write data (transaction control left out)."""
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].upper().startswith(TRANSACTION)]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_each_device_poll_is_one_statement_per_sample_table_and_one_status_update(
        installation: DemoRig) -> None:
    refs = polling.device_refs()
    tree = system_tree("system")
    warm = polling.slot_for(timezone.now(), 5) - timedelta(seconds=60)
    for ref in refs:  # first polls: connections, status rows, catalog rows of the units and cells
        assert polling.poll_device(ref, warm).ok
    tree = system_tree("system")
    statuses = polling.statuses_for(refs)
    assert len(statuses) == len(refs)
    slot = polling.slot_for(timezone.now(), 5)
    counts = {}
    for ref in refs:
        with CaptureQueriesContext(connection) as ctx:
            outcome = polling.poll_device(ref, slot, tree=tree)
        assert outcome.ok and outcome.written == outcome.rows > 0
        counts[ref.key] = len(_statements(ctx))
    # Inverters and the meter: their row and the status update. A pack (2 units × 16 cells):
    # its rows (pack, units, cells: one statement on PostgreSQL, one per table on SQLite) and the
    # status update.
    pack = 2 if connection.vendor == "postgresql" else 4
    assert counts == {"inverter:powdrive1": 2, "inverter:powdrive2": 2, "inverter:senergy1": 2,
                      "meter:grid_meter_1": 2, "battery_pack:battery1": pack, "battery_pack:jkbms_bank": pack}
    assert t.BatteryCellSample.objects.filter(pack_id="battery1", ts__gt=warm).count() == 2 * 16
    # The status still reports the poll (and so fires post_save for MQTT).
    status = polling.statuses_for(refs)["inverter:powdrive1"]
    assert status.next_poll_at == slot + timedelta(seconds=status.poll_interval_s)


def _reading(units: int, cells: int, start: float):  # type: ignore[no-untyped-def]
    return battery_pack_from_units([
        BatteryUnitReading(index=u, voltage=52.0, current=-3.0, temperature=25.0, soc=55.0,
                           cells=[CellReading(index=c, voltage=start + c / 1000, temperature=25.0)
                                  for c in range(cells)]) for u in range(1, units + 1)])


@pytest.mark.django_db
@pytest.mark.parametrize("units, cells", [(1, 4), (16, 16)])
def test_a_pack_write_is_as_many_statements_for_4_or_256_cells(units: int, cells: int) -> None:
    pack = f.pack("pack1", f.battery_array("ba1", f.system()), batteries=units, cells=cells)
    tree = load_system_tree("system")
    node = tree.pack("pack1") if tree else None
    assert node is not None
    batteries = {b.battery_index: b.battery_id for b in node.batteries}
    ids = {(b.battery_id, i): c for b in node.batteries for i, c in b.cells.items()}
    ts = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)
    first = ingest.pack_values(pack.pk, pack.battery_array_id, "system", batteries, ids,
                               _reading(units, cells, 3.30), ts - timedelta(seconds=10), 60)
    ingest.write(first)
    again = ingest.pack_values(pack.pk, pack.battery_array_id, "system", batteries, ids,
                               _reading(units, cells, 3.10), ts, 60)
    with CaptureQueriesContext(connection) as ctx:
        result = ingest.write(again)
    assert len(_statements(ctx)) == (1 if connection.vendor == "postgresql" else 3)
    assert result.written == 1 + units + units * cells
    # Both polls fall in one detail interval: one row per cell, holding the lower voltage seen.
    rows = t.BatteryCellSample.objects.filter(pack_id="pack1")
    assert rows.count() == units * cells
    low = rows.get(power=units, cell=cells - 1)
    assert low.voltage_min == pytest.approx(3.10 + (cells - 1) / 1000)
    assert low.voltage_max == pytest.approx(3.30 + (cells - 1) / 1000)
    # A re-delivered poll writes nothing and stops after its head row.
    with CaptureQueriesContext(connection) as ctx:
        repeat = ingest.write(again)
    assert repeat.written == 0 and len(_statements(ctx)) == 1


def _inverter_slot_buses() -> tuple[datetime, list[list[str]]]:
    """The inverters' next slot, dispatched as beat would, and the buses queued for it."""
    sent: list[tuple[list[str], datetime]] = []
    now = timezone.now()
    dispatch_due(now, lambda owner, keys, slot, expires_s: sent.append((keys, slot)))
    inverter_slot = polling.slot_for(now, 5, "system")
    return inverter_slot, [keys for keys, slot in sent if slot == inverter_slot]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_systems_totals_are_derived_once_per_slot_after_its_last_bus_has_reported(
        installation: DemoRig) -> None:
    inverter_slot, buses = _inverter_slot_buses()
    assert len(buses) >= 3  # the inverters and the meter are on separate buses
    for keys in buses[:-1]:
        poll_bus(keys, inverter_slot.isoformat())
        assert not t.SystemSample.objects.filter(ts=inverter_slot).exists()
    poll_bus(buses[-1], inverter_slot.isoformat())
    system = t.SystemSample.objects.get(ts=inverter_slot)
    # Derived once every device had reported: all three inverters' PV, the meter's grid figure.
    assert system.pv_power_w == sum(pv or 0 for pv in t.EnergySample.objects.filter(
        ts=inverter_slot).values_list("pv_power_w", flat=True))
    assert t.EnergySample.objects.filter(ts=inverter_slot).count() == 3
    assert system.grid_source == "meter"


def _pending_questions(ctx: CaptureQueriesContext) -> int:
    """Statements of their own asking whether a slot is still pending (the status UPDATE's
    RETURNING left out)."""
    return sum(1 for sql in _statements(ctx)
               if sql.upper().startswith("SELECT") and "pending_slot" in sql and "UPDATE" not in sql.upper())


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_bus_task_learns_whether_its_slot_is_finished_from_its_status_update(
        installation: DemoRig) -> None:
    inverter_slot, buses = _inverter_slot_buses()
    assert len(buses) >= 3
    with CaptureQueriesContext(connection) as first:
        poll_bus(buses[0], inverter_slot.isoformat())
    for keys in buses[1:-1]:
        poll_bus(keys, inverter_slot.isoformat())
    with CaptureQueriesContext(connection) as last:
        poll_bus(buses[-1], inverter_slot.isoformat())
    assert not t.SystemSample.objects.filter(ts__gt=inverter_slot).exists()
    assert t.SystemSample.objects.filter(ts=inverter_slot).count() == 1
    # The last bus's UPDATE saw nothing pending, an earlier one's saw the others still pending:
    # either answer is final on either database (a system's status updates take turns).
    assert _pending_questions(last) == 0
    assert _pending_questions(first) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_of_two_last_polls_finishing_together_the_later_sees_the_slot_finished() -> None:
    """Both devices' polls of a slot end at once: the first status update is written and not yet
    committed when the second starts. The second must wait for it and see it (on PostgreSQL an
    UPDATE sees only what was committed when it began), or neither would derive the totals."""
    from telemetry.status import record_poll_success

    f.system("system")
    slot = datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)
    for device in ("inv1", "inv2"):
        t.DeviceStatus.objects.create(device_type="inverter", device_id=device, system_id="system",
                                      poll_interval_s=5, pending_slot=slot)
    written, release = threading.Event(), threading.Event()
    answers: dict[str, bool | None] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                answers["inv1"] = record_poll_success("inverter", "inv1", "system", 5, timezone.now(), slot,
                                                      "ad1", 10)
                written.set()
                release.wait(10)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            answers["inv2"] = record_poll_success("inverter", "inv2", "system", 5, timezone.now(), slot,
                                                  "ad2", 10)
        finally:
            connections.close_all()

    one = threading.Thread(target=first)
    one.start()
    assert written.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)
    assert two.is_alive()  # it waits for the first one's commit ...
    release.set()
    one.join(10)
    two.join(10)
    # ... and then sees it: exactly one of them finds the slot finished, the later one.
    assert answers == {"inv1": True, "inv2": False}
    assert not t.DeviceStatus.objects.filter(pending_slot=slot).exists()


def _pack_poll(units: int, cells: int, volts: float, ts: datetime) -> ingest.RowSet:
    tree = load_system_tree("system")
    node = tree.pack("pack1") if tree else None
    assert node is not None
    batteries = {b.battery_index: b.battery_id for b in node.batteries}
    ids = {(b.battery_id, i): c for b in node.batteries for i, c in b.cells.items()}
    return ingest.pack_values("pack1", "ba1", "system", batteries, ids, _reading(units, cells, volts), ts, 60)


@pytest.mark.django_db
def test_the_receivers_of_a_live_poll_with_nothing_wrong_read_and_write_nothing(
        django_capture_on_commit_callbacks: Any) -> None:
    f.pack("pack1", f.battery_array("ba1", f.system()), batteries=2, cells=16)
    slot = polling.slot_for(timezone.now(), 10)
    with django_capture_on_commit_callbacks(execute=True):  # the first poll reads the rules, the watermark
        ingest.write(_pack_poll(2, 16, 3.30, slot - timedelta(seconds=10)))
    second = _pack_poll(2, 16, 3.31, slot)
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True) as sent:
        ingest.write(second)
    assert len(sent) == 1  # samples_written went to the rollup's late check, the alert rules, MQTT
    # the pack's, the units' and the cells' rows (one statement on PostgreSQL): nothing else
    assert len(_statements(ctx)) == (1 if connection.vendor == "postgresql" else 3)


@pytest.mark.django_db
def test_a_poll_whose_cells_drift_apart_still_raises_its_alert_at_once(
        django_capture_on_commit_callbacks: Any) -> None:
    from alerts.models import Alert, AlertRule

    AlertRule.objects.filter(key="cell-spread").update(raise_after_s=0)
    f.pack("pack1", f.battery_array("ba1", f.system()), batteries=1, cells=4)
    slot = polling.slot_for(timezone.now(), 10)
    with django_capture_on_commit_callbacks(execute=True):
        ingest.write(_pack_poll(1, 4, 3.30, slot - timedelta(seconds=10)))
    spread = _pack_poll(1, 4, 3.30, slot)
    cells = dict(spread.tables)[t.BatteryCellSample]
    cells[0]["voltage"] = cells[0]["voltage_min"] = 3.10  # 200 mV below the others
    with django_capture_on_commit_callbacks(execute=True):
        ingest.write(spread)
    alert = Alert.objects.get(rule__key="cell-spread", device_id="pack1")
    assert alert.state == "active" and alert.values["spread_mv"] == pytest.approx(203.0)


@pytest.mark.django_db
def test_an_old_sample_after_live_ones_still_marks_its_day_for_rolling_up_again(
        django_capture_on_commit_callbacks: Any) -> None:
    from aggregation.models import DirtyDay, RollupWatermark

    f.pack("pack1", f.battery_array("ba1", f.system()), batteries=1, cells=4)
    now = timezone.now()
    RollupWatermark.objects.create(device_type="battery_pack", device_id="pack1", system_id="system",
                                   closed_until=now - timedelta(hours=1), max_gap_s=30)
    slot = polling.slot_for(now, 10)
    with django_capture_on_commit_callbacks(execute=True):
        ingest.write(_pack_poll(1, 4, 3.30, slot - timedelta(seconds=10)))
        ingest.write(_pack_poll(1, 4, 3.30, slot))
    assert not DirtyDay.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        ingest.write(_pack_poll(1, 4, 3.30, slot - timedelta(hours=2)))
    assert DirtyDay.objects.filter(system_id="system").exists()
