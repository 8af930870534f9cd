"""A reading's rows are stored exactly as read, once, and go with their device when it is deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from adapters import readings as r
from catalog import models as m
from telemetry import ingest
from telemetry import models as t
from tests import factories as f

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def _reading() -> r.BatteryPackReading:
    """Two units of two cells, with unknown values left as None in every table."""
    return r.BatteryPackReading(
        voltage=52.37, current=None, power=-651.5, temperature=24.25, soc=0.0, batteries_count=2,
        cells_per_battery=2, cycles=None, adapter_id="pack_ad", units=[
            r.BatteryUnitReading(index=1, voltage=52.1, current=-12.5, temperature=None, soc=71.0,
                                 power=-651.25, basic_st="Dischg", volt_st=None, bat_events=0x0400,
                                 cycles=812,
                                 cells=[
                                   r.CellReading(index=0, voltage=3.256, temperature=24.0, volt_st="Normal"),
                                   r.CellReading(index=1, voltage=None, temperature=-3.5)]),
            r.BatteryUnitReading(index=2, voltage=None, current=None, soc=None, cells=[
                r.CellReading(index=0, voltage=3.301), r.CellReading(index=1, voltage=3.299, soc=50.5)]),
        ])


def _ids(pack: m.BatteryPack) -> tuple[dict[int, str], dict[tuple[str, int], str]]:
    batteries = dict(m.Battery.objects.filter(pack=pack).values_list("battery_index", "battery_id"))
    cells = {(b, i): c for c, b, i in m.BatteryCell.objects.filter(pack=pack).values_list(
        "cell_id", "battery_id", "cell_index")}
    return batteries, cells


def _pack(pack_id: str = "pack1") -> m.BatteryPack:
    return f.pack(pack_id, f.battery_array("ba1", f.system()), batteries=2, cells=2)


def _values(pack: m.BatteryPack, reading: r.BatteryPackReading, ts: datetime) -> ingest.RowSet:
    batteries, cells = _ids(pack)
    return ingest.pack_values(pack.pk, pack.battery_array_id, pack.system_id, batteries, cells, reading, ts,
                              60)


def test_a_pack_tick_is_stored_as_read_with_unknown_values_left_null() -> None:
    pack = _pack()
    ts = datetime(2026, 3, 29, 3, 30, 5, tzinfo=BERLIN)  # the morning clocks go forward: 01:30:05 UTC
    result = ingest.write(_values(pack, _reading(), ts))
    assert result.written == result.rows == 1 + 2 + 4

    head = t.BatteryBankSample.objects.get()
    assert head.ts == datetime(2026, 3, 29, 1, 30, 5, tzinfo=UTC)
    assert (head.voltage, head.current, head.power_w, head.temperature, head.soc, head.batteries_count,
            head.cells_per_battery, head.cycles, head.adapter_id) == (
        52.37, None, -651.5, 24.25, 0.0, 2, 2, None, "pack_ad")
    assert (head.battery_array_id, head.system_id) == ("ba1", "system")

    interval = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the detail interval (60 s) holding ts
    units = {u.power: u for u in t.BatteryUnitSample.objects.all()}
    assert {u.ts for u in units.values()} == {interval}
    assert (units[1].voltage, units[1].current, units[1].temperature, units[1].soc, units[1].power_w,
            units[1].basic_st, units[1].volt_st, units[1].bat_events, units[1].cycles) == (
        52.1, -12.5, None, 71.0, -651.25, "Dischg", None, 0x0400, 812)
    assert (units[2].voltage, units[2].current, units[2].soc, units[2].basic_st) == (None, None, None, None)
    assert units[1].battery_id == "pack1_b0" and units[2].battery_id == "pack1_b1"

    cells = {(c.power, c.cell): c for c in t.BatteryCellSample.objects.all()}
    assert {c.ts for c in cells.values()} == {interval}
    assert {key: (c.voltage, c.temperature, c.soc, c.volt_st, c.temp_st) for key, c in cells.items()} == {
        (1, 0): (3.256, 24.0, None, "Normal", None), (1, 1): (None, -3.5, None, None, None),
        (2, 0): (3.301, None, None, None, None), (2, 1): (3.299, None, 50.5, None, None)}
    assert (cells[(1, 1)].voltage_min, cells[(1, 1)].voltage_max) == (None, None)
    assert (cells[(1, 1)].temperature_min, cells[(1, 1)].temperature_max) == (-3.5, -3.5)
    assert cells[(2, 1)].cell_ref_id == "pack1_b1_c1"
    assert {(c.pack_id, c.battery_array_id, c.system_id) for c in cells.values()} == {
        ("pack1", "ba1", "system")}


def test_whole_numbers_among_a_columns_decimals_are_stored() -> None:
    pack = _pack()
    reading = _reading()
    reading.units[0].cells[0].temperature = 24  # a driver's whole degrees beside another's 21.5
    reading.units[1].cells[0].temperature = 21.5
    reading.units[0].voltage = 52
    ingest.write(_values(pack, reading, datetime(2026, 5, 1, 12, tzinfo=UTC)))
    cells = {(c.power, c.cell): c.temperature for c in t.BatteryCellSample.objects.all()}
    assert cells[(1, 0)] == 24.0 and cells[(2, 0)] == 21.5
    assert t.BatteryUnitSample.objects.get(power=1).voltage == 52.0


def test_each_poll_stores_its_own_values_when_they_change_and_change_back() -> None:
    pack = _pack()
    first = _reading()
    second = _reading()
    second.units[0].basic_st, second.units[0].cycles, second.units[1].basic_st = "Charge", 813, "Idle"
    second.units[0].bat_events = 0
    for unit, volts in zip(second.units, ((3.31, 3.32), (3.33, 3.34)), strict=True):  # none unknown
        for cell, volt in zip(unit.cells, volts, strict=True):
            cell.voltage, cell.temperature = volt, 25.5
    ts = datetime(2026, 5, 1, 12, tzinfo=UTC)
    for minute, reading in enumerate((first, second, first)):  # each poll in a detail interval of its own
        ingest.write(_values(pack, reading, ts + timedelta(minutes=minute)))
    units = [(u.power, u.basic_st, u.cycles, u.bat_events)
             for u in t.BatteryUnitSample.objects.order_by("ts", "power")]
    assert units == [(1, "Dischg", 812, 0x0400), (2, None, None, None), (1, "Charge", 813, 0),
                     (2, "Idle", None, None), (1, "Dischg", 812, 0x0400), (2, None, None, None)]
    second_cells = t.BatteryCellSample.objects.filter(ts=ts + timedelta(minutes=1)).order_by("power", "cell")
    cells = [(c.power, c.cell, c.voltage, c.temperature) for c in second_cells]
    assert cells == [(1, 0, 3.31, 25.5), (1, 1, 3.32, 25.5), (2, 0, 3.33, 25.5), (2, 1, 3.34, 25.5)]
    assert t.BatteryCellSample.objects.get(ts=ts + timedelta(minutes=2), power=1, cell=1).voltage is None


def test_a_re_delivered_tick_writes_nothing_and_changes_nothing() -> None:
    pack = _pack()
    ts = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)
    ingest.write(_values(pack, _reading(), ts))
    changed = _reading()
    changed.voltage = 40.0
    changed.units[0].cells[0].voltage = 2.5
    again = ingest.write(_values(pack, changed, ts))
    assert again.written == 0
    assert t.BatteryBankSample.objects.get().voltage == 52.37
    cell = t.BatteryCellSample.objects.get(power=1, cell=0)
    assert (cell.voltage, cell.voltage_min, cell.voltage_max) == (3.256, 3.256, 3.256)
    assert (t.BatteryBankSample.objects.count(), t.BatteryUnitSample.objects.count(),
            t.BatteryCellSample.objects.count()) == (1, 2, 4)


def test_a_later_poll_of_the_interval_updates_its_rows_and_keeps_the_extremes() -> None:
    pack = _pack()
    ts = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)
    ingest.write(_values(pack, _reading(), ts))
    later = _reading()
    later.units[0].cells[0].voltage = 3.2
    later.units[0].cells[1].voltage = 3.4  # unknown at the first poll
    later.units[1].soc = 64.0
    assert ingest.write(_values(pack, later, ts + timedelta(seconds=20))).written == 7
    assert t.BatteryBankSample.objects.count() == 2
    cells = {(c.power, c.cell): c for c in t.BatteryCellSample.objects.all()}
    assert len(cells) == 4
    assert (cells[(1, 0)].voltage, cells[(1, 0)].voltage_min, cells[(1, 0)].voltage_max) == (3.2, 3.2, 3.256)
    assert (cells[(1, 1)].voltage, cells[(1, 1)].voltage_min, cells[(1, 1)].voltage_max) == (3.4, 3.4, 3.4)
    assert t.BatteryUnitSample.objects.get(power=2).soc == 64.0


def test_a_pack_tick_is_one_statement_on_postgresql() -> None:
    pack = _pack()
    values = _values(pack, _reading(), datetime(2026, 5, 1, 12, tzinfo=UTC))
    with CaptureQueriesContext(connection) as ctx:
        ingest.write(values)
    statements = [q["sql"] for q in ctx.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and statements[0].startswith("WITH head AS (INSERT")
    else:
        assert sum("INSERT INTO" in s for s in statements) == 3  # an executemany is "N times: INSERT …"


@pytest.mark.django_db(transaction=True)  # the pack's foreign key is checked at commit
def test_a_tick_of_a_deleted_pack_is_refused_whole() -> None:
    pack = _pack()
    values = _values(pack, _reading(), datetime(2026, 5, 1, 12, tzinfo=UTC))  # ids read before the delete
    m.BatteryPack.objects.filter(pk="pack1").delete()
    with pytest.raises(IntegrityError):
        ingest.write(values)
    assert not t.BatteryUnitSample.objects.exists() and not t.BatteryCellSample.objects.exists()


def test_deleting_a_pack_deletes_its_samples_and_no_one_elses() -> None:
    pack = _pack()
    other = f.pack("pack2", m.BatteryArray.objects.get(pk="ba1"), batteries=2, cells=2)
    ts = datetime(2026, 5, 1, 12, tzinfo=UTC)
    ingest.write(_values(pack, _reading(), ts))
    ingest.write(_values(other, _reading(), ts))
    pack.delete()
    for model in (t.BatteryBankSample, t.BatteryUnitSample, t.BatteryCellSample):
        assert set(model.objects.values_list("pack_id", flat=True)) == {"pack2"}, model.__name__
    assert t.BatteryCellSample.objects.count() == 4


def test_deleting_a_system_deletes_every_sample_under_it_and_an_array_frees_its_meter_samples() -> None:
    pack = _pack()
    arr = f.array("a1", m.System.objects.get(pk="system"))
    inv = f.inverter("inv1", arr)
    meter = f.meter("m1", m.System.objects.get(pk="system"), arr)
    ts = datetime(2026, 5, 1, 12, tzinfo=UTC)
    ingest.write(_values(pack, _reading(), ts))
    ingest.write(ingest.inverter_values(inv.pk, arr.pk, "system", r.InverterReading(pv_power_w=1200.0), ts))
    ingest.write(ingest.meter_values(meter.pk, arr.pk, "system", r.MeterReading(grid_power_w=-300.0), ts))
    arr.delete()
    assert not t.EnergySample.objects.exists()  # its inverter went with it
    assert list(t.MeterSample.objects.values_list("meter_id", "array_id")) == [("m1", None)]
    m.System.objects.get(pk="system").delete()
    for model in (t.BatteryBankSample, t.BatteryUnitSample, t.BatteryCellSample, t.MeterSample):
        assert not model.objects.exists(), model.__name__


def test_the_database_checks_only_a_samples_own_device() -> None:
    with connection.cursor() as cursor:
        checked = {table: sorted(info["columns"][0] for info in
                                 connection.introspection.get_constraints(cursor, table).values()
                                 if info["foreign_key"])
                   for table in ("energy_samples", "meter_samples", "battery_bank_samples",
                                 "battery_unit_samples", "battery_cell_samples", "array_samples",
                                 "system_samples")}
    assert checked == {"energy_samples": ["inverter_id"], "meter_samples": ["meter_id"],
                       "battery_bank_samples": ["pack_id"], "battery_unit_samples": [],
                       "battery_cell_samples": [], "array_samples": ["array_id"],
                       "system_samples": ["system_id"]}


def test_a_drivers_odd_values_are_stored_as_their_columns_hold_them() -> None:
    pack = _pack()
    reading = _reading()
    # a float in an integer column: PostgreSQL rounds it, as it always has
    reading.units[0].cycles = 812.4  # type: ignore[assignment]
    reading.units[1].cycles = 9
    reading.units[0].basic_st = "Entlädt"  # text beyond ASCII, different on each unit
    # a status code as a number: kept as text, as SQLite keeps it
    reading.units[1].basic_st = 7  # type: ignore[assignment]
    reading.units[1].cells[1].voltage = "3.5"  # type: ignore[assignment]  # a number as text, in a float column
    ingest.write(_values(pack, reading, datetime(2026, 5, 1, 12, tzinfo=UTC)))
    units = {u.power: (u.cycles, u.basic_st) for u in t.BatteryUnitSample.objects.all()}
    assert units == {1: (812 if connection.vendor == "postgresql" else 812.4, "Entlädt"), 2: (9, "7")}
    assert t.BatteryCellSample.objects.get(power=2, cell=1).voltage == 3.5


def test_a_value_that_fits_no_column_is_refused_with_its_column_named_and_nothing_is_stored() -> None:
    pack = _pack()
    reading = _reading()
    reading.units[1].cells[0].voltage = "3.3x"  # type: ignore[assignment]
    if connection.vendor == "postgresql":  # SQLite stores what it is given, as it always has
        with pytest.raises(ValueError, match=r"battery_cell_samples\.voltage: '3\.3x' is not a number"):
            ingest.write(_values(pack, reading, datetime(2026, 5, 1, 12, tzinfo=UTC)))
        reading.units[1].cells[0].voltage = 3.3
        reading.units[0].cycles = 2**40
        with pytest.raises(ValueError, match=r"battery_unit_samples\.cycles: 1099511627776 is out of"):
            ingest.write(_values(pack, reading, datetime(2026, 5, 1, 12, tzinfo=UTC)))
        assert not t.BatteryBankSample.objects.exists() and not t.BatteryCellSample.objects.exists()


def _inverter() -> m.Inverter:
    return f.inverter("inv1", f.array("arr1", f.system()))


def _inverter_values(inv: m.Inverter, reading: r.InverterReading, ts: datetime) -> ingest.RowSet:
    return ingest.inverter_values(inv.pk, inv.array_id, inv.system_id, reading, ts)


def test_an_inverter_poll_is_stored_as_read_and_a_repeat_changes_nothing() -> None:
    inv = _inverter()
    ts = datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)
    reading = r.InverterReading(pv_power_w=1234.6, grid_power_w=-250.0, batt_voltage_v=52.4, soc=0.0,
                                inverter_mode=2, inverter_temp_c=-3.5, pv_total_kwh=10234.5,
                                grid_import_total_kwh=812.25, adapter_id=None)
    assert ingest.write(_inverter_values(inv, reading, ts)).written == 1
    changed = r.InverterReading(pv_power_w=10.0, soc=50.0)
    assert ingest.write(_inverter_values(inv, changed, ts)).written == 0
    row = t.EnergySample.objects.get()
    assert (row.pv_power_w, row.grid_power_w, row.load_power_w) == (1235, -250, None)
    assert (row.batt_voltage_v, row.battery_voltage_v, row.soc, row.battery_soc) == (52.4, 52.4, 0.0, 0.0)
    assert (row.inverter_mode, row.inverter_temp_c, row.pv_total_kwh) == (2, -3.5, 10234.5)
    assert (row.grid_import_wh, row.grid_export_wh, row.adapter_id) == (812250.0, None, None)
    assert (row.inverter_id, row.array_id, row.system_id) == ("inv1", "arr1", "system")
    assert row.ts == ts


def test_an_inverter_polls_odd_values_are_stored_as_their_columns_hold_them() -> None:
    inv = _inverter()
    ts = datetime(2026, 5, 1, 12, tzinfo=UTC)
    reading = r.InverterReading(inverter_mode=3.0, grid_voltage_v="231.5",  # type: ignore[arg-type]
                                adapter_id=7)  # type: ignore[arg-type]
    ingest.write(_inverter_values(inv, reading, ts))
    row = t.EnergySample.objects.get()
    assert (row.inverter_mode, row.grid_voltage_v, row.adapter_id) == (3, 231.5, "7")
    bad = r.InverterReading(grid_voltage_v="231,5V")  # type: ignore[arg-type]
    if connection.vendor == "postgresql":  # SQLite stores what it is given, as it always has
        with pytest.raises(ValueError, match=r"energy_samples\.grid_voltage_v: '231,5V' is not a number"):
            ingest.write(_inverter_values(inv, bad, ts + timedelta(seconds=5)))
        assert t.EnergySample.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the inverter's foreign key is checked at commit
def test_a_poll_of_a_deleted_inverter_is_refused() -> None:
    inv = _inverter()
    values = _inverter_values(inv, r.InverterReading(pv_power_w=900.0), datetime(2026, 5, 1, 12, tzinfo=UTC))
    m.Inverter.objects.filter(pk="inv1").delete()
    with pytest.raises(IntegrityError):
        ingest.write(values)
    assert not t.EnergySample.objects.exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_inverter_polls_with_different_values_missing_reuse_one_prepared_statement() -> None:
    inv = _inverter()
    ts = datetime(2026, 5, 1, 12, tzinfo=BERLIN)
    readings = [r.InverterReading(pv_power_w=100.0, soc=50.0, inverter_mode=1),
                r.InverterReading(pv_power_w=None, soc=51.0, inverter_mode=70000),  # unknown, and a wide int
                r.InverterReading(grid_voltage_v=230.1, adapter_id=None)]

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                           ['INSERT INTO "energy_samples" % VALUES %'])
            return int(cursor.fetchone()[0])

    before = prepared()
    for i, reading in enumerate(readings):
        assert ingest.write(_inverter_values(inv, reading, ts + timedelta(seconds=5 * i))).written == 1
    assert prepared() - before == 1
    assert t.EnergySample.objects.earliest("ts").ts == datetime(2026, 5, 1, 10, tzinfo=UTC)
    stored = list(t.EnergySample.objects.order_by("ts").values_list("pv_power_w", "soc", "inverter_mode",
                                                                     "grid_voltage_v"))
    assert stored == [(100, 50.0, 1, None), (None, 51.0, 70000, None), (None, None, None, 230.1)]


def _prepared_writes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'WITH head AS%%'")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_pack_ticks_on_postgresql_reuse_one_prepared_statement_unless_told_not_to(
        settings: Any) -> None:
    pack = _pack()
    ts = datetime(2026, 5, 1, 12, tzinfo=UTC)
    settings.SOLARMON_PG_PREPARED_WRITES = False  # behind a pooler that does not keep them
    ingest.write(_values(pack, _reading(), ts))
    assert _prepared_writes() == []
    settings.SOLARMON_PG_PREPARED_WRITES = True
    for i in range(1, 4):
        assert ingest.write(_values(pack, _reading(), ts + timedelta(seconds=5 * i))).written == 7
    assert len(_prepared_writes()) == 1
    assert t.BatteryBankSample.objects.count() == 4
    assert connection.connection.prepare_threshold is None  # every other statement stays unprepared
