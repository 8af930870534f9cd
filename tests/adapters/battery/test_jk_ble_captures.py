"""Real JK BLE frames, delivered through the BLE driver in 20-byte and larger notifications.

Expected values are the ones each source states (the capture headers, and
``tests/adapters/captures/README.md``), copied here by hand: cell numbers there count
from 1, ours from 0.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import pytest

from adapters.errors import WrongDevice
from adapters.jkbms_ble.driver import JkbmsBleDriver
from adapters.simulators.jkbms_ble import DEVICES, FakeBleakClient, RecordedJkBms
from tests.adapters.battery.support import cell_volts, known
from tests.adapters.capture_files import hex_capture, pdu_frames

pytestmark = pytest.mark.timeout(60)

ADDRESS = "C8:47:8C:00:00:01"
FRAGMENTS = [20, 128, 300]  # many adapters; the common 128; an MTU that fits a whole frame


@dataclass(frozen=True)
class Stated:
    """What one source states about one cell-info frame (cell numbers from 1, as stated)."""

    cells: int
    voltage: float
    current: float
    cell_min: tuple[float, int]
    cell_max: tuple[float, int]
    t1: float
    t2: float
    mos: float
    soc: float
    cycles: int
    charging: int
    discharging: int
    soh: int = 100
    remaining_ah: float | None = None
    nominal_ah: float | None = None
    runtime_s: int | None = None


ESPHOME = {
    "JK02_24S_V10": ("DEVICE_INFO_JK02_24S_V10", ("JK-B2A24S20P", "10.XG", "10.07"), Stated(
        24, 78.735, 0.0, (3.279, 3), (3.285, 23), 20.7, 20.7, 23.4, 85, 0, 1, 0,
        remaining_ah=42.804, nominal_ah=50.0, runtime_s=269340)),
    "JK02_24S_V10_NEG_TEMPS": ("DEVICE_INFO_JK02_24S_V10", ("JK-B2A24S20P", "10.XG", "10.07"), Stated(
        13, 42.786, 0.0, (3.288, 5), (3.292, 1), -3.1, -2.9, 0.5, 47, 56, 0, 0)),
    "JK02_32S_V11": ("DEVICE_INFO_JK02_32S_V11", ("JK_PB2A16S15P", "14.XA", "14.20"), Stated(
        16, 51.689, 0.0, (3.216, 11), (3.246, 1), 17.7, 17.7, 17.3, 52, 0, 1, 1,
        remaining_ah=1.043, nominal_ah=2.0, runtime_s=107416)),
    "JK02_32S_V14": ("DEVICE_INFO_JK02_32S_V14", ("JK_PB2A16S15P", "14.XA", "14.20"), Stated(
        16, 49.526, 0.0, (2.851, 11), (3.175, 1), 16.8, 17.0, 18.2, 50, 0, 1, 1,
        remaining_ah=1.007, nominal_ah=2.0, runtime_s=124641)),
    "JK02_32S_V15": ("DEVICE_INFO_JK02_32S_V15", ("JK_PB2A16S15P", "15A", "15.38"), Stated(
        16, 53.224, 31.881, (3.320, 13), (3.337, 16), 13.4, 12.8, 12.9, 25, 9, 1, 1,
        remaining_ah=49.286, nominal_ah=200.0, runtime_s=24530060)),
    "JK02_32S_V19": ("DEVICE_INFO_JK02_32S_V19", ("JK-PB2A16S20P", "19A", "19.27"), Stated(
        16, 54.028, -0.727, (3.374, 10), (3.381, 1), 11.9, 12.7, 12.8, 100, 5, 1, 1,
        remaining_ah=312.898, nominal_ah=314.0, runtime_s=3609276)),
}


@pytest.fixture
def recorded():
    """Register one BMS that replays real frames; the registry is emptied afterwards."""
    DEVICES.clear()

    def register(**kwargs: object) -> RecordedJkBms:
        device = RecordedJkBms(address=ADDRESS, **kwargs)  # type: ignore[arg-type]
        DEVICES[ADDRESS] = device
        return device

    yield register
    DEVICES.clear()


def _driver(timeout: float = 1.0) -> JkbmsBleDriver:
    return JkbmsBleDriver({"bt_addresses": [ADDRESS], "timeout": timeout, "layout": "auto"},
                          client_factory=FakeBleakClient)


@pytest.mark.parametrize("fragment", FRAGMENTS)
@pytest.mark.parametrize("name", sorted(ESPHOME))
def test_esphome_frames_decode_to_the_stated_values(recorded, name: str, fragment: int) -> None:
    info_name, (vendor, hardware, software), stated = ESPHOME[name]
    recorded(cell_frames=[hex_capture(f"jk_ble/esphome_tests/CELL_INFO_{name}.hex")],
             device_info=hex_capture(f"jk_ble/esphome_tests/{info_name}.hex"), fragment=fragment,
             preamble=b"AT\r\n" if fragment == 20 else b"")
    with closing(_driver()) as driver:
        identity = driver.identify()
        pack = driver.read()
    assert (identity.model, identity.extra["hardware_version"], identity.extra["software_version"]) == (
        vendor, hardware, software)
    unit = pack.units[0]
    extra = pack.extra["units"][1]
    volts = cell_volts(unit)
    assert len(volts) == stated.cells
    assert unit.voltage == pytest.approx(stated.voltage, abs=0.0005)
    assert unit.current == pytest.approx(stated.current, abs=0.0005)
    assert (min(volts), volts.index(min(volts)) + 1) == (pytest.approx(stated.cell_min[0]),
                                                          stated.cell_min[1])
    assert (max(volts), volts.index(max(volts)) + 1) == (pytest.approx(stated.cell_max[0]),
                                                          stated.cell_max[1])
    assert (extra["temp1"], extra["temp2"], extra["mos_temp"]) == pytest.approx((stated.t1, stated.t2,
                                                                                  stated.mos))
    assert unit.soc == stated.soc and extra["soh"] == stated.soh and unit.cycles == stated.cycles
    assert (extra["charge_mos"], extra["discharge_mos"]) == (stated.charging, stated.discharging)
    if stated.nominal_ah is not None:
        assert unit.capacity_ah == pytest.approx(stated.nominal_ah)
        assert extra["remaining_ah"] == pytest.approx(stated.remaining_ah)
        assert extra["runtime_s"] == stated.runtime_s
    assert pack.flags == []


def test_mpp_solar_frames_decode_to_the_stated_values(recorded) -> None:
    recorded(cell_frames=[hex_capture("mpp_solar/jk02__test_getCellData.hex")],
             device_info=hex_capture("mpp_solar/jk02__test_getInfo.hex"), fragment=20)
    with closing(_driver()) as driver:
        identity = driver.identify()
        pack = driver.read()
    # getInfo: JK-B2A24S, HW 3.0, SW 3.2.3, "Power Wall 1", no serial number; hardware 3.0 is
    # also what JK04 BMSes report, so the frame's content decides the layout (JK02_24S here).
    assert (identity.model, identity.serial_number, identity.extra["hardware_version"],
            identity.extra["software_version"]) == ("JK-B2A24S", "", "3.0", "3.2.3")
    assert (identity.extra["device_name"], identity.extra["power_on_count"]) == ("Power Wall 1", 4)
    assert identity.extra["uptime_s"] == 52 * 86400 + 16 * 3600 + 30 * 60  # "52D16H30M0S"
    unit = pack.units[0]
    extra = pack.extra["units"][1]
    assert extra["layout"] == "24s"
    assert cell_volts(unit) == [3.374, 3.368, 3.322, 3.374, 3.375, 3.362, 3.362, 3.347, 3.353, 3.357,
                                3.357, 3.351, 3.359, 3.35, 3.323, 3.359]
    assert (extra["cell_avg"], extra["cell_delta"]) == (3.356, 0.053)
    assert (unit.voltage, unit.soc, unit.cycles) == (53.692, 99, 0)
    assert (extra["remaining_ah"], unit.capacity_ah, extra["cycle_capacity_ah"]) == (199.787, 200.0, 85.468)
    assert (extra["temp1"], extra["temp2"], extra["mos_temp"]) == (28.6, 27.8, 31.6)
    assert extra["runtime_s"] == 16 * 86400 + 18 * 3600 + 39 * 60 + 52  # "16D18H39M52S"


@pytest.mark.parametrize(("cell", "info", "named"), [
    ("jk_ble/esphome_tests/CELL_INFO_JK04.hex", "jk_ble/esphome_tests/DEVICE_INFO_JK04.hex",
     f"JK-B2A16S (hw 3.0, sw 3.3.0) at {ADDRESS}"),
    # No valid device-info frame: the docs' copy of this BMS's frame is 298 bytes, cut short.
    ("jk_ble/esphome_tests/CELL_INFO_JK04_B5A24S.hex", None, f"JK BMS at {ADDRESS}"),
])
def test_jk04_is_refused_with_one_error_naming_the_bms_and_the_cause(recorded, cell, info, named) -> None:
    truncated = pdu_frames("jk_ble/esphome_docs_pdus/JK-B5A24S-8.0.3M-BLE-JK02.txt")[0]
    recorded(cell_frames=[hex_capture(cell)], device_info=hex_capture(info) if info else truncated,
             settings=hex_capture("jk_ble/esphome_tests/SETTINGS_JK04_B5A24S.hex"), fragment=20)
    with closing(_driver(timeout=0.3)) as driver, pytest.raises(WrongDevice) as caught:
        driver.read()
    assert str(caught.value) == (f"{named} sends JK04 cell-info frames (float32 cell voltages, an older "
                                 "protocol); the jkbms_ble adapter reads JK02 (24S/32S) BMSes only")
    assert caught.value.permanent


def test_a_logbook_frame_passing_is_not_taken_for_cell_info(recorded) -> None:
    recorded(cell_frames=[hex_capture("jk_ble/esphome_tests/CELL_INFO_JK02_32S_V19.hex")],
             device_info=hex_capture("jk_ble/esphome_tests/DEVICE_INFO_JK02_32S_V19.hex"),
             settings=hex_capture("jk_ble/esphome_tests/LOGBOOK_JK02_32S.hex"), fragment=20)
    with closing(_driver()) as driver:
        assert driver.read().units[0].voltage == 54.028


# The 32S BMS below has sensors 3-5 unfitted: their presence bits are clear and their values
# read 0, which without the mask would be stored as 0.0 °C.
NO_SPARE_SENSORS = ["temp3", "temp4", "temp5"]
DOCS = {
    # file: (layout, cells per frame, frames of type 0x02, temperature sensors not fitted)
    "JK-B1A20S15P-10.07-BLE-JK02.txt": ("24s", 13, 44, None),
    "JK-B2A24S20P-10.07-BLE-JK02.txt": ("24s", 24, 1, None),
    "JK-B2A8S20P-11.17-BLE-JK02_32S.txt": ("32s", 8, 70, NO_SPARE_SENSORS),
    "JK-B2A8S20P-11.17-BLE-JK02_32S.transposed.txt": ("32s", 8, 70, NO_SPARE_SENSORS),
    "JK-BD6A17S6P-7.1.0H-BLE-JK02.txt": ("24s", 16, 100, None),
    "JK-BD6A17S6P-7.1.0H-BLE-JK02.transposed.txt": ("24s", 16, 100, None),
}


@pytest.mark.parametrize("name", sorted(DOCS))
def test_every_frame_of_the_docs_captures_reads_consistently(recorded, name: str) -> None:
    """No stated values here: each frame must decode with cells summing to the pack voltage."""
    layout, cells, count, absent = DOCS[name]
    frames = pdu_frames(f"jk_ble/esphome_docs_pdus/{name}")
    cell_frames = [f for f in frames if f[4] == 0x02]
    info = next((f for f in frames if f[4] == 0x03), None)
    assert len(cell_frames) == count
    recorded(cell_frames=cell_frames, device_info=info, fragment=244, gap_s=0.0)
    with closing(_driver(timeout=0.5)) as driver:
        for _ in cell_frames:
            pack = driver.read()
            unit = pack.units[0]
            extra = pack.extra["units"][1]
            assert extra["layout"] == layout
            assert extra.get("absent_temp_sensors") == absent
            assert not {"temp3", "temp4", "temp5"} & extra.keys()
            assert len(cell_volts(unit)) == cells
            assert sum(cell_volts(unit)) == pytest.approx(known(unit.voltage), abs=0.1)
            assert 0 <= known(unit.soc) <= 100 and -40 < known(unit.temperature) < 80
            assert pack.flags == []


@pytest.mark.parametrize("name", ["JK-B2A16S-3.3.0-BLE-JK04.txt", "JK-B2A16S-3.3.0-BLE-JK04.transposed.txt",
                                  "JK-B5A24S-8.0.3M-BLE-JK02.txt"])
def test_docs_captures_of_jk04_bmses_are_refused(recorded, name: str) -> None:
    frames = pdu_frames(f"jk_ble/esphome_docs_pdus/{name}")
    info = next((f for f in frames if f[4] == 0x03), None)
    recorded(cell_frames=[f for f in frames if f[4] == 0x02], device_info=info, fragment=128)
    with closing(_driver(timeout=0.3)) as driver, pytest.raises(WrongDevice, match="sends JK04 cell-info"):
        driver.read()


def test_settings_frames_of_the_docs_capture_are_valid_and_never_read_as_cells(recorded) -> None:
    frames = pdu_frames("jk_ble/esphome_docs_pdus/JK-B2A8S20P-11.26-BLE-JK02_32S-settings-frame.txt")
    transposed = pdu_frames("jk_ble/esphome_docs_pdus/JK-B2A8S20P-11.26-BLE-JK02_32S-settings-frame"
                            ".transposed.txt")
    assert frames == transposed and {f[4] for f in frames} == {0x01}
    recorded(cell_frames=[hex_capture("jk_ble/esphome_tests/CELL_INFO_JK02_32S_V19.hex")],
             settings=frames[0], fragment=20)
    with closing(_driver(timeout=0.3)) as driver:
        assert driver.read().units[0].voltage == 54.028
