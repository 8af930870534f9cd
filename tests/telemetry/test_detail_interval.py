"""Unit and cell rows are kept per detail interval: latest values, and each cell's extremes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.readings import BatteryUnitReading, CellReading, battery_pack_from_units
from catalog import models as m
from catalog.services import save_entity
from telemetry import ingest
from telemetry import models as t
from tests import factories as f

pytestmark = pytest.mark.django_db
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _pack(cell_interval_s: int | None) -> m.BatteryPack:
    sys = f.system()
    pack = f.pack("pack1", f.battery_array("ba1", sys), batteries=1, cells=2)
    config: dict[str, Any] = {"serial_port": "/dev/ttyUSB0"}
    if cell_interval_s is not None:
        config["cell_interval_s"] = cell_interval_s
    adapter = f.adapter("pack1_adapter", "pytes", config)
    save_entity(m.BatteryPackAdapter(pack=pack, adapter=adapter, priority=1))
    return pack


def _poll(pack: m.BatteryPack, ts: datetime, volts: tuple[float, float], temp: float = 25.0) -> None:
    cells = [CellReading(index=i, voltage=v, temperature=temp) for i, v in enumerate(volts)]
    unit = BatteryUnitReading(index=1, voltage=sum(volts), current=-2.0, soc=60.0, temperature=temp,
                              cells=cells)
    reading = battery_pack_from_units([unit], adapter_id="pack1_adapter")
    ingest.write_rows(ingest.pack_rows(pack, reading, ts))


def test_a_minute_of_polls_is_one_row_per_cell_with_its_lowest_and_highest_reading() -> None:
    pack = _pack(cell_interval_s=None)  # the default interval: 60 s
    readings = [(3.30, 3.31), (3.29, 3.31), (3.05, 3.32), (3.30, 3.45), (3.31, 3.31), (3.32, 3.30)]
    for n, volts in enumerate(readings):
        _poll(pack, START + timedelta(seconds=10 * n), volts, temp=25.0 + n)
    _poll(pack, START + timedelta(seconds=60), (3.33, 3.33))

    assert t.BatteryBankSample.objects.filter(pack=pack).count() == 7  # the pack at every poll
    first = {c.cell: c for c in t.BatteryCellSample.objects.filter(pack=pack, ts=START)}
    assert t.BatteryCellSample.objects.filter(pack=pack).count() == 4  # two minutes × two cells
    assert (first[0].voltage, first[0].voltage_min, first[0].voltage_max) == (3.32, 3.05, 3.32)
    assert (first[1].voltage, first[1].voltage_min, first[1].voltage_max) == (3.30, 3.30, 3.45)
    assert (first[0].temperature, first[0].temperature_min, first[0].temperature_max) == (30.0, 25.0, 30.0)
    unit = t.BatteryUnitSample.objects.get(pack=pack, ts=START)
    assert unit.voltage == pytest.approx(3.32 + 3.30)  # the unit row holds the latest reading
    second = t.BatteryCellSample.objects.get(pack=pack, ts=START + timedelta(seconds=60), cell=0)
    assert (second.voltage_min, second.voltage_max) == (3.33, 3.33)


def test_a_repeated_poll_changes_nothing() -> None:
    pack = _pack(cell_interval_s=None)
    _poll(pack, START, (3.30, 3.31))
    _poll(pack, START + timedelta(seconds=10), (3.00, 3.31))
    before = list(t.BatteryCellSample.objects.filter(pack=pack).values_list("voltage", "voltage_min"))
    _poll(pack, START + timedelta(seconds=10), (2.90, 3.31))  # same poll delivered again
    assert list(t.BatteryCellSample.objects.filter(pack=pack).values_list("voltage", "voltage_min")) == before


def test_an_adapter_can_keep_every_reading() -> None:
    pack = _pack(cell_interval_s=0)
    for n in range(3):
        _poll(pack, START + timedelta(seconds=10 * n), (3.30, 3.31))
    assert t.BatteryCellSample.objects.filter(pack=pack).count() == 6
    assert t.BatteryUnitSample.objects.filter(pack=pack).count() == 3
