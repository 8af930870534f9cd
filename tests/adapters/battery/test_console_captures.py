"""Real Pylontech console output replayed over a pty through the pytes driver.

Expected values are the ones the device printed (stated in ``tests/adapters/captures/README.md``),
copied here by hand.
"""

from __future__ import annotations

from contextlib import closing

import pytest

from adapters.errors import DeviceError, WrongDevice
from adapters.pytes.driver import PytesDriver
from adapters.pytes.parsing import extract_body, parse_key_values
from adapters.tools import read_device
from tests.adapters.battery.support import cell_volts, fixture_bytes
from tests.adapters.capture_files import capture_path, console_replies

pytestmark = pytest.mark.timeout(30)


def driver_for(path: str, **config: object) -> PytesDriver:
    return PytesDriver({"serial_port": path, "timeout": 1.0, **config})


def test_mixed_us_stack_reads_every_unit_with_its_own_capacity(console_replay) -> None:
    replay = console_replay(console_replies("pylontech_console/US"), prompt=b"pylon>")
    with closing(driver_for(replay.path, batteries=4)) as driver:
        identity = driver.identify()
        pack = driver.read()

    assert (identity.serial_number, identity.model) == ("Yxxxxxxxxxxxxxx7", "US5000")
    assert identity.extra["firmware"] == "B69.16.0.0"
    assert (identity.extra["specification"], identity.extra["cell_number"]) == ("48V/100AH", "15")
    units = pack.units
    assert [u.index for u in units] == [1, 2, 3, 4]
    assert [u.voltage for u in units] == [49.905, 49.882, 49.909, 49.916]
    assert [u.current for u in units] == [11.867, 5.182, 5.08, 5.25]  # + = charging
    assert [u.soc for u in units] == [39, 38, 35, 40]
    assert [u.basic_st for u in units] == ["Charge"] * 4
    assert units[0].temperature == 27.9
    # Each unit's `info N`: a US5000 (100 Ah) with three 50 Ah units behind it.
    assert [u.capacity_ah for u in units] == [100, 50, 50, 50]
    models = [pack.extra["units"][u.index]["model"] for u in units]
    assert models == ["US5000", "US2000C", "US2KBPL", "US2KBPL"]
    assert [u.serial_number for u in units] == ["Yxxxxxxxxxxxxxx7", "Hxxxxxxxxxxxxxx6", "Pxxxxxxxxxxxxxx8",
                                                "Pxxxxxxxxxxxxxx7"]
    # Capacity-weighted: (39·100 + 38·50 + 35·50 + 40·50) / 250 = 38.2 (a plain mean says 38.0).
    assert pack.soc == pytest.approx(38.2)
    assert pack.current == pytest.approx(11.867 + 5.182 + 5.08 + 5.25)
    assert pack.extra["absent_count"] == 12 and pack.extra["absent_units"] == []
    assert pack.extra["units"][1]["mos_temp"] == 27.5 and "mos_temp" not in pack.extra["units"][3]
    assert pack.extra["units"][1]["bms_time"] == "2023-09-16 11:50:32"
    # `bat 1`: 15 cells 3330-3331 mV, 16020 mA, 27200-27500 m°C, SOC 45 %.
    unit1 = units[0]
    assert len(unit1.cells) == 15 and set(cell_volts(unit1)) == {3.330, 3.331}
    assert {c.temperature for c in unit1.cells} == {27.2, 27.3, 27.5}
    assert {c.soc for c in unit1.cells} == {45}
    # `bat 4` (a capture with no prompt before its echo): cell 0 at 3330 mV, SOC 46 %.
    assert (units[3].cells[0].voltage, units[3].cells[0].soc) == (3.330, 46)
    assert len(units[3].cells) == 15
    assert pack.flags == []


@pytest.mark.parametrize(("folder", "device", "cause"), [
    ("H2", "Pylon Force_H2 (384V/37AH, 120 cells)", "a 384 V series stack"),
    ("SC", "Pylon CMU_A (240V/74AH, 75 cells)", "a 240 V series stack"),
])
def test_high_voltage_consoles_are_refused_with_one_error(console_replay, folder, device, cause) -> None:
    replay = console_replay(console_replies(f"pylontech_console/{folder}"), prompt=b"pylon>")
    with pytest.raises(WrongDevice) as caught:
        read_device("pytes", {"serial_port": replay.path, "timeout": 1.0})
    assert str(caught.value) == (f"pytes at serial {replay.path}: {device} is a high-voltage battery system "
                                 f"({cause}); the pytes adapter reads low-voltage Pytes/Pylontech packs only")
    assert caught.value.permanent


@pytest.mark.parametrize(("folder", "device"), [("H2", "Pylon Force_H2 (384V/37AH, 120 cells)"),
                                                ("SC", "Pylon CMU_A (240V/74AH, 75 cells)")])
def test_a_high_voltage_pwr_summary_is_refused_even_without_identify(console_replay, folder, device) -> None:
    replay = console_replay(console_replies(f"pylontech_console/{folder}"), prompt=b"pylon>")
    with closing(driver_for(replay.path)) as driver, pytest.raises(WrongDevice) as caught:
        driver.read()
    assert str(caught.value).startswith(f"{device} is a high-voltage battery system (`pwr` prints one "
                                        "series stack")


# A `bat N` table as a PYTES E-BOX printed it (fixtures/ebox_bat2_blank_status.txt): in cell 2's
# row the status under "Temp. State" is missing, so the SOC slid under that header and the
# status landed after it.


def test_a_row_with_a_blank_status_column_costs_only_its_unsure_fields(console_replay) -> None:
    replay = console_replay({"pwr": fixture_bytes("ebox_pwr.txt"),
                             "bat 2": fixture_bytes("ebox_bat2_blank_status.txt")})
    with closing(driver_for(replay.path, batteries=2)) as driver:
        pack = driver.read()
    cells = pack.units[0].cells
    assert [c.voltage for c in cells] == [3.220, 3.223, 3.224, 3.225]  # every voltage is still certain
    assert [c.soc for c in cells] == [76, 80, None, 81]
    assert [c.temp_st for c in cells] == ["Normal", "Normal", None, "Normal"]
    assert cells[2].volt_st == "Normal" and cells[2].temperature == 25.0
    assert pack.units[0].voltage == 48.322 and pack.soc == 74
    assert pack.flags == [
        "unit 2: `info 2` failed (console rejected 'info 2': Invalid command): its capacity is unknown",
        "`bat 2` cell 2: column 'Temp. State' reads '80%': value unknown",
        "`bat 2` cell 2: column 'Coulomb' reads 'Normal 40255 mAH': value unknown",
    ]


@pytest.mark.parametrize(("name", "command", "stated"), [
    ("pwr_1", "pwr 1", {"Voltage": "49959       mV", "Current": "15939       mA",
                        "Temperature": "28200       mC", "Coulomb": "45          %",
                        "Total Coulomb": "100000      mAH",
                        "Max Voltage": "54000       mV", "Charge Times": "11344", "Basic Status": "Charge"}),
    ("stat_1", "stat 1", {"Charge Cnt.": "20", "Charge Times": "11345", "Idle Times": "12836"}),
    ("time", "time", {}),
])
def test_other_us_replies_parse_to_what_the_device_printed(name, command, stated) -> None:
    """Commands the driver does not send; their framing and key/value lines still parse."""
    text = capture_path(f"pylontech_console/US/{name}.txt").read_text("latin-1")
    body = extract_body(text, command)
    values = parse_key_values(body)
    assert {k: values[k] for k in stated} == stated
    if name == "time":
        assert body == ["Ds3231 2023-09-28 20:11:40"]


CONSOLE_FILES = sorted(str(p.relative_to(capture_path("")))
                       for p in capture_path("pylontech_console").rglob("*.txt"))


@pytest.mark.parametrize("name", CONSOLE_FILES)
def test_every_console_capture_frames_cleanly(name: str) -> None:
    """Echo, `@`, body, end marker and prompt are found in every capture, whatever its line ends."""
    command = name.rsplit("/", 1)[1].removesuffix(".txt").replace("_", " ")
    text = capture_path(name).read_text("latin-1")
    if name.endswith("H2/bmuinfo_4.txt"):  # the device's own failure reply
        with pytest.raises(DeviceError, match="unccessfully"):
            extract_body(text, command)
        return
    body = extract_body(text, command)
    assert body and not any("Command completed" in line or line.strip() == "$$" for line in body)
