"""The Pytes driver reads recorded console output (both dialects) over a real pty."""

from __future__ import annotations

from contextlib import closing

import pytest

from adapters.errors import DeviceError
from adapters.pytes.driver import PytesDriver
from adapters.pytes.parsing import split_row
from tests.adapters.battery.support import fixture_bytes
from tests.adapters.capture_files import console_replies

pytestmark = pytest.mark.timeout(30)


def driver_for(path: str, **config: object) -> PytesDriver:
    return PytesDriver({"serial_port": path, "baudrate": 115200, "timeout": 1.0, **config})


def test_pytes_pwr_and_bat_give_every_column(console_replay) -> None:
    bat = fixture_bytes("pytes_bat1.txt")
    replay = console_replay({"pwr": fixture_bytes("pytes_pwr.txt"), "bat 1": bat, "bat 2": bat,
                             "info 1": fixture_bytes("pytes_info1.txt")})
    with closing(driver_for(replay.path, batteries=3)) as driver:
        identity = driver.identify()
        pack = driver.read()

    assert (identity.serial_number, identity.model) == ("PPTAH0500000043", "E-BOX-48100V-D")
    assert identity.extra["firmware"] == "SPBMS16SRP2304V1.10.7.1C"
    unit = pack.units[0]
    assert (unit.index, unit.voltage, unit.current) == (1, 53.07, -5.962)
    assert (unit.temperature, unit.soc) == (26.0, 80)
    assert unit.power == pytest.approx(53.07 * -5.962, abs=0.01)
    assert (unit.basic_st, unit.volt_st, unit.current_st, unit.temp_st) == ("Dischg", "Normal", "Normal",
                                                                          "Normal")
    assert unit.serial_number == "PPTAH0500000043"
    assert unit.capacity_ah == 100  # from "Specification : 51.2V/100AH"
    extra = pack.extra["units"][1]
    assert (extra["temp_low"], extra["temp_high"], extra["cell_volt_low"], extra["cell_volt_high"]) == (
        24.0, 25.0, 3.313, 3.319)
    assert extra["bms_time"] == "2024-02-13 23:34:48"
    assert extra["device_type"] == "E-BOX-48100V-D"
    assert [c.voltage for c in unit.cells][:4] == [3.304, 3.305, 3.304, 3.306]
    assert len(unit.cells) == 16
    assert unit.cells[13].soc == 36  # Pytes prints SOC inside its Coulomb column
    assert unit.cells[1].temperature == 19.1
    assert unit.cells[5].temp_st == "Low" and unit.cells[4].temp_st == "Normal"
    assert unit.cells[0].volt_st == "Normal"
    # Pack: two present units, fourteen Absent rows (the 3rd was configured, so it is missing).
    assert pack.batteries_count == 2 and pack.cells_per_battery == 16
    assert pack.extra["absent_count"] == 14 and pack.extra["absent_units"] == [3]
    assert pack.voltage == pytest.approx((53.07 + 53.04) / 2)
    assert pack.current == pytest.approx(-5.962 - 6.012)
    assert pack.power == pytest.approx(53.07 * -5.962 + 53.04 * -6.012, abs=0.1)
    assert pack.soc == pytest.approx(79.0)
    assert pack.temperature == pytest.approx(25.5)
    assert replay.commands == ["info 1", "pwr", "bat 1", "info 2", "bat 2"]


def test_pylontech_dialect_with_crlf_and_mos_column(console_replay) -> None:
    replies = {"pwr": fixture_bytes("pylontech_pwr.txt")}
    replies.update({f"bat {n}": fixture_bytes(f"pylontech_bat{n}.txt") for n in (1, 2, 3)})
    replay = console_replay(replies, prompt=b"pylon>")
    with closing(driver_for(replay.path, batteries=3)) as driver:
        pack = driver.read()

    assert [u.index for u in pack.units] == [1, 2, 3]
    assert [u.voltage for u in pack.units] == [49.905, 49.882, 49.909]
    assert [u.current for u in pack.units] == [11.867, 5.182, 5.08]  # + = charging
    assert [u.basic_st for u in pack.units] == ["Charge"] * 3
    assert pack.extra["units"][1]["mos_temp"] == 27.5
    assert "mos_temp" not in pack.extra["units"][3]  # "-" means no value
    assert pack.current == pytest.approx(11.867 + 5.182 + 5.08)
    assert pack.soc == pytest.approx((39 + 38 + 35) / 3, abs=0.01)  # no capacity known: plain mean
    assert pack.power == pytest.approx(49.905 * 11.867 + 49.882 * 5.182 + 49.909 * 5.08, abs=0.1)
    cells = pack.units[0].cells
    assert len(cells) == 15 and cells[0].index == 0
    assert cells[7].soc == 40 and cells[6].soc == 39  # the separate SOC column
    assert cells[1].voltage == 3.330 and cells[10].temperature == 27.3
    assert pack.extra["absent_count"] == 13


def test_firmware_with_extra_columns_still_reads_by_header_name(console_replay) -> None:
    replay = console_replay({"pwr": fixture_bytes("pylontech_newfw_pwr.txt"),
                             "bat 1": fixture_bytes("pylontech_bat1.txt")}, prompt=b"pylon>")
    with closing(driver_for(replay.path)) as driver:
        pack = driver.read()

    unit = pack.units[0]
    assert (unit.voltage, unit.current, unit.temperature, unit.soc) == (50.112, -20.15, 24.1, 71)
    assert unit.basic_st == "Dischg"
    extra = pack.extra["units"][1]
    assert (extra["temp_low"], extra["temp_high"], extra["cell_volt_low"]) == (23.0, 25.0, 3.13)
    assert extra["Vlow.Id"] == "11" and extra["SysAlarm.St"] == "Normal" and extra["Heater.St"] == "Off"


def test_invalid_command_reply_is_a_device_error(console_replay) -> None:
    replay = console_replay({"pwr": fixture_bytes("pytes_invalid.txt").replace(b"stat 1", b"pwr")})
    with closing(driver_for(replay.path)) as driver, pytest.raises(DeviceError, match="Invalid command"):
        driver.read()


def test_row_values_keep_date_with_time_and_number_with_unit() -> None:
    row = split_row("0   3304  19000  Dischg  Normal  34%   34682 mAH  2024-02-13 23:34:48  -")
    assert row == ["0", "3304", "19000", "Dischg", "Normal", "34%", "34682 mAH", "2024-02-13 23:34:48", "-"]


def _pylontech(replay_factory, pwr: bytes, bat1: bytes | None = None):
    """Recorded `pwr` and `bat N` replies, and the `info N` replies of a real US stack."""
    infos = {k: v for k, v in console_replies("pylontech_console/US").items() if k.startswith("info")}
    replies = {"pwr": pwr, **infos, **{f"bat {n}": fixture_bytes(f"pylontech_bat{n}.txt") for n in (1, 2, 3)}}
    if bat1 is not None:
        replies["bat 1"] = bat1
    return replay_factory(replies, prompt=b"pylon>")


def test_a_blank_pwr_value_costs_that_value_and_the_sums_that_need_it(console_replay) -> None:
    pwr = fixture_bytes("pylontech_pwr.txt").replace(b"49882  5182   31900", b"49882         31900")
    with closing(driver_for(_pylontech(console_replay, pwr).path, batteries=3)) as driver:
        pack = driver.read()
    assert [u.current for u in pack.units] == [11.867, None, 5.08]
    assert pack.units[1].voltage == 49.882 and pack.units[1].temperature == 31.9
    assert pack.current is None and pack.power is None  # a sum without unit 2 would understate the pack
    assert pack.voltage == pytest.approx((49.905 + 49.882 + 49.909) / 3, abs=0.001)
    assert pack.flags == ["`pwr` unit 2: column 'Curr' blank: value unknown"]


def test_rows_indented_unlike_their_header_are_still_read_by_column(console_replay) -> None:
    bat = fixture_bytes("pylontech_bat1.txt")
    lines = bat.split(b"\r\n")
    shifted = [b"  " + line if line[:1].isdigit() else line for line in lines]
    shifted[7] = shifted[7].replace(b"Normal       Normal       39%", b"Normal                    39%")
    replay = _pylontech(console_replay, fixture_bytes("pylontech_pwr.txt"), b"\r\n".join(shifted))
    with closing(driver_for(replay.path, batteries=3)) as driver:
        pack = driver.read()
    cells = pack.units[0].cells
    assert len(cells) == 15 and [c.voltage for c in cells[:5]] == [3.331, 3.330, 3.331, 3.330, 3.331]
    assert (cells[4].volt_st, cells[4].temp_st, cells[4].soc) == ("Normal", None, 39)  # only its blank column
    assert all(c.temp_st == "Normal" for i, c in enumerate(cells) if i != 4)
    assert pack.flags == ["`bat 1` cell 4: column 'Temp. State' blank: value unknown"]


def test_a_row_whose_number_is_garbled_is_skipped_and_its_cell_left_unknown(console_replay) -> None:
    bat = fixture_bytes("pylontech_bat1.txt").replace(b"\r\n3        3330", b"\r\n3x       3330")
    replay = _pylontech(console_replay, fixture_bytes("pylontech_pwr.txt"), bat)
    with closing(driver_for(replay.path, batteries=3)) as driver:
        pack = driver.read()
    cells = pack.units[0].cells
    assert len(cells) == 15 and cells[3].voltage is None and cells[4].voltage == 3.331
    assert pack.flags[0].startswith("`bat 1`: row without a readable cell number skipped: '3x")
