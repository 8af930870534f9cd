"""The Pytes driver against the console simulator on a pty: values match the plant."""

from __future__ import annotations

import re
import time
from contextlib import closing

import pytest

from adapters.errors import AdapterError, TransportError
from adapters.pytes.driver import PytesDriver
from adapters.simulators.battery import LOW_CELL_DROP_MV
from tests.adapters.battery.support import cell_volts, known

pytestmark = pytest.mark.timeout(30)


def driver_for(path: str, **config: object) -> PytesDriver:
    return PytesDriver({"serial_port": path, "timeout": 0.5, "batteries": 2, **config})


@pytest.mark.parametrize("variant", ["pytes", "pylontech"])
def test_reading_matches_the_plant(pytes_sim, plant, variant) -> None:
    sim = pytes_sim(variant=variant, batteries=2, cells_per_battery=15,
                    serials={1: "SN-ONE-0001", 2: "SN-TWO-0002"})
    truth = plant.state()
    with closing(driver_for(sim.path)) as driver:
        identity = driver.identify()
        pack = driver.read()

    assert identity.serial_number == "SN-ONE-0001"
    assert truth.battery_w > 1000  # the morning sun charges the battery
    assert pack.power == pytest.approx(truth.battery_w, abs=1.0)  # mA and mV rounding only
    assert known(pack.current) > 0 and all(known(u.current) > 0 for u in pack.units)
    assert pack.soc == pytest.approx(truth.soc, abs=0.5)  # the console prints whole percent
    assert pack.batteries_count == 2 and pack.cells_per_battery == 15
    for unit in pack.units:
        assert unit.voltage == pytest.approx(sum(c.voltage for c in unit.cells), abs=1e-6)
        assert 3.2 < min(cell_volts(unit)) <= max(cell_volts(unit)) < 3.45
        assert unit.power == pytest.approx(truth.battery_w / 2, abs=0.5)
        assert unit.basic_st == "Charge"


def test_discharging_pack_reports_negative_current(pytes_sim, discharging_plant) -> None:
    sim = pytes_sim(plant=discharging_plant)
    with closing(driver_for(sim.path)) as driver:
        pack = driver.read()
    assert discharging_plant.state().battery_w < -500
    assert known(pack.current) < 0
    assert pack.power == pytest.approx(discharging_plant.state().battery_w, abs=1.0)
    assert {u.basic_st for u in pack.units} == {"Dischg"}


def test_one_pwr_and_one_bat_per_unit_per_read_and_each_info_once(pytes_sim) -> None:
    sim = pytes_sim(batteries=3)
    with closing(driver_for(sim.path, batteries=3)) as driver:
        driver.identify()
        driver.read()
        driver.identify()  # cached: no second `info`
        driver.read()
    assert sim.commands == ["info 1", "pwr", "bat 1", "info 2", "bat 2", "info 3", "bat 3",
                            "pwr", "bat 1", "bat 2", "bat 3"]


def test_absent_unit_is_skipped_and_counted(pytes_sim) -> None:
    sim = pytes_sim(batteries=3, absent=[2])
    with closing(driver_for(sim.path, batteries=3)) as driver:
        pack = driver.read()
    assert [u.index for u in pack.units] == [1, 3]
    assert pack.batteries_count == 2 and pack.extra["absent_units"] == [2]
    assert "bat 2" not in sim.commands


def test_long_output_is_paged_and_still_read_whole(pytes_sim) -> None:
    sim = pytes_sim(batteries=2, page_lines=4)
    with closing(driver_for(sim.path)) as driver:
        pack = driver.read()
    assert [len(u.cells) for u in pack.units] == [16, 16]


def test_low_cell_shows_in_its_unit_only(pytes_sim) -> None:
    sim = pytes_sim(batteries=2, low_cell=(2, 5))
    with closing(driver_for(sim.path)) as driver:
        pack = driver.read()
    unit1, unit2 = pack.units
    assert unit2.cells[5].voltage == pytest.approx(cell_volts(unit2)[4] - LOW_CELL_DROP_MV / 1000,
                                                   abs=0.01)
    assert min(cell_volts(unit1)) > cell_volts(unit2)[5] + 0.2


@pytest.mark.parametrize("fault", ["silence", "garbage", "truncated", "disconnect"])
def test_faults_raise_and_never_give_a_reading(pytes_sim, fault) -> None:
    sim = pytes_sim()
    with closing(driver_for(sim.path, timeout=0.3)) as driver:
        driver.read()
        sim.fault = fault
        started = time.monotonic()
        with pytest.raises(TransportError):
            driver.read()
        assert time.monotonic() - started < 2.0
        sim.clear_faults()
        assert driver.read().batteries_count == 2  # the driver reopens the port and recovers


def test_a_mangled_number_costs_that_value_only_and_is_flagged(pytes_sim, plant) -> None:
    sim = pytes_sim()
    with closing(driver_for(sim.path)) as driver:
        sim.fault = "bad_checksum"  # unit 1's `pwr` voltage prints as "x3070": the console has no checksum
        pack = driver.read()
    unit1, unit2 = pack.units
    assert unit1.voltage is None and unit1.power is None
    assert unit1.current == pytest.approx(plant.state().battery_w / 2 / sum(cell_volts(unit1)), abs=0.01)
    assert unit2.voltage == pytest.approx(sum(cell_volts(unit2)), abs=1e-6)
    assert pack.power is None  # a sum missing one unit's share would understate the pack
    assert len(pack.flags) == 1
    assert re.fullmatch(r"`pwr` unit 1: column 'Volt' reads 'x\d+': value unknown", pack.flags[0])


def test_silent_port_fails_the_wake_up(pytes_sim) -> None:
    sim = pytes_sim()
    sim.fault = "silence"
    with closing(driver_for(sim.path, timeout=0.2)) as driver, pytest.raises(TransportError, match="wake-up"):
        driver.identify()


def test_missing_port_is_a_transport_error() -> None:
    with pytest.raises(AdapterError, match="cannot open"):
        driver_for("/dev/does-not-exist-ttyUSB9").read()


@pytest.mark.parametrize("variant", ["pytes", "pylontech"])
def test_a_garbled_console_row_costs_its_two_unsure_fields_only(pytes_sim, variant) -> None:
    sim = pytes_sim(variant=variant, batteries=2)
    sim.fault = "garbled_row"  # `bat 1` cell 2: the status under "Temp. State" is missing
    with closing(driver_for(sim.path)) as driver:
        pack = driver.read()
    garbled = pack.units[0].cells[2]
    assert garbled.voltage is not None and garbled.volt_st == "Normal"
    assert garbled.temp_st is None and garbled.soc is None
    assert len(pack.flags) == 2 and all(f.startswith("`bat 1` cell 2: column ") for f in pack.flags)
    assert pack.units[0].cells[3].soc is not None and pack.units[1].cells[2].soc is not None
    assert pack.power is not None and pack.soc is not None


def test_a_mixed_stack_gives_each_unit_its_own_capacity(pytes_sim) -> None:
    sim = pytes_sim(batteries=3, capacity_ah={1: 100.0, 2: 50.0, 3: 50.0})
    with closing(driver_for(sim.path, batteries=3)) as driver:
        pack = driver.read()
    assert [u.capacity_ah for u in pack.units] == [100.0, 50.0, 50.0]
