"""JK02 frames (24S and 32S) built byte by byte in the test, decoded by the product."""

from __future__ import annotations

import pytest

from adapters.battery_checks import screen_units
from adapters.errors import ImplausibleReading
from adapters.jkbms.codec import decode_device_info, layout_for_hardware
from adapters.jkbms.frames import FrameAssembler, ble_command, trigger_ack, trigger_request
from adapters.jkbms.layouts import LAYOUT_24S, LAYOUT_32S
from adapters.jkbms.unit import unit_from_cell_info
from tests.adapters.battery.jk_frame_builder import cell_info_frame, device_info_frame, fragments
from tests.adapters.battery.support import known

pytestmark = pytest.mark.timeout(30)

CELLS_13 = [3301, 3299, 3305, 3300, 3298, 3302, 3304, 3300, 3297, 3303, 3301, 3300, 3299]


@pytest.mark.parametrize("layout", [LAYOUT_24S, LAYOUT_32S], ids=["24s", "32s"])
def test_cell_info_frame_decodes_every_field(layout) -> None:
    frame = cell_info_frame(layout.name, CELLS_13, current_ma=12345, soc=67, temp1_dc=251,
                            temp2_dc=-53, cycles=412, nominal_mah=230000)
    unit, extra = unit_from_cell_info(frame, layout, 2, serial_number="SN42")

    assert unit.index == 2 and unit.serial_number == "SN42"
    assert len(unit.cells) == 13
    assert [c.voltage for c in unit.cells] == [mv / 1000 for mv in CELLS_13]
    assert unit.voltage == pytest.approx(sum(CELLS_13) / 1000)
    assert unit.current == pytest.approx(12.345)  # charging is positive
    assert unit.power == pytest.approx(sum(CELLS_13) / 1000 * 12.345, abs=0.01)
    assert unit.soc == 67
    assert unit.temperature == pytest.approx((25.1 + -5.3) / 2)
    assert unit.cycles == 412
    assert unit.capacity_ah == pytest.approx(230.0)
    assert extra["mos_temp"] == pytest.approx(30.0)


@pytest.mark.parametrize("layout", [LAYOUT_24S, LAYOUT_32S], ids=["24s", "32s"])
def test_discharge_current_is_negative(layout) -> None:
    frame = cell_info_frame(layout.name, CELLS_13, current_ma=-40250, soc=12, temp1_dc=300,
                            temp2_dc=300, cycles=1)
    unit, _ = unit_from_cell_info(frame, layout, 1)
    assert unit.current == pytest.approx(-40.25)
    assert known(unit.power) < 0


def test_frame_without_cells_is_implausible() -> None:
    frame = cell_info_frame("32s", [], current_ma=0, soc=50, temp1_dc=250, temp2_dc=250, cycles=1)
    with pytest.raises(ImplausibleReading, match="no cells"):
        unit_from_cell_info(frame, LAYOUT_32S, 1)


def test_one_cell_outside_1_to_5_volts_is_unknown_and_flagged_the_rest_kept() -> None:
    frame = cell_info_frame("32s", [3300, 6100, 3301], current_ma=0, soc=50, temp1_dc=250, temp2_dc=250,
                            cycles=1)
    unit, _ = unit_from_cell_info(frame, LAYOUT_32S, 1)
    flags = screen_units([unit])
    assert flags == ["unit 1 cell 1: 6.1 V outside 1-5 V"]
    assert [c.voltage for c in unit.cells] == [3.3, None, 3.301]
    assert unit.soc == 50


def test_a_unit_whose_cells_are_mostly_impossible_is_rejected_whole() -> None:
    frame = cell_info_frame("32s", [3300, 6100, 6200], current_ma=0, soc=50, temp1_dc=250, temp2_dc=250,
                            cycles=1)
    unit, _ = unit_from_cell_info(frame, LAYOUT_32S, 1)
    with pytest.raises(ImplausibleReading, match="2 of 3 cells outside 1-5 V"):
        screen_units([unit])


def test_device_info_gives_serial_vendor_and_layout() -> None:
    info = decode_device_info(device_info_frame("4060A450123", vendor="JK_B2A24S15P", hardware="10.XW"))
    assert info["serial_number"] == "4060A450123"
    assert info["vendor"] == "JK_B2A24S15P"
    assert layout_for_hardware(info["hardware_version"]).name == "24s"
    assert layout_for_hardware("11.XW").name == "32s" and layout_for_hardware("15A").name == "32s"


def test_ble_commands_match_the_published_bytes() -> None:
    assert ble_command(0x97) == bytes.fromhex("aa5590eb970000000000000000000000000000" + "11")
    assert ble_command(0x96) == bytes.fromhex("aa5590eb960000000000000000000000000000" + "10")


def test_rs485_trigger_frames_match_the_published_bytes() -> None:
    assert trigger_request(1, 0x1620) == bytes.fromhex("0110162000010200 00d6f1".replace(" ", ""))
    assert trigger_request(1, 0x161E) == bytes.fromhex("01101 61e000102 0000d22f".replace(" ", ""))
    assert trigger_request(1, 0x161C) == bytes.fromhex("0110161c00010200 00d3cd".replace(" ", ""))
    assert trigger_request(2, 0x1620) == bytes.fromhex("0210162000010200 00c201".replace(" ", ""))
    assert trigger_ack(1, 0x1620)[:6] == bytes.fromhex("011016200001")


def _frame() -> bytes:
    return cell_info_frame("32s", CELLS_13, current_ma=1000, soc=50, temp1_dc=250, temp2_dc=250, cycles=3)


def test_fragments_128_128_44_reassemble_into_one_frame() -> None:
    frame = _frame()
    assembler = FrameAssembler()
    parts = fragments(frame)
    assert [len(p) for p in parts] == [128, 128, 44]
    assert assembler.feed_fragment(parts[0]) == []
    assert assembler.feed_fragment(parts[1]) == []
    assert assembler.feed_fragment(parts[2]) == [frame]


def test_320_byte_frames_are_accepted_and_the_padding_ignored() -> None:
    frame = cell_info_frame("32s", CELLS_13, current_ma=1, soc=50, temp1_dc=250, temp2_dc=250, cycles=3,
                            frame_len=320)
    assembler = FrameAssembler()
    out = [f for part in fragments(frame) + fragments(frame) for f in assembler.feed_fragment(part)]
    assert out == [frame[:300], frame[:300]]
    assert assembler.corrupt_frames == 0


def test_bad_checksum_frame_is_dropped_and_counted() -> None:
    frame = bytearray(_frame())
    frame[299] ^= 0x01
    assembler = FrameAssembler()
    assert [f for part in fragments(bytes(frame)) for f in assembler.feed_fragment(part)] == []
    assert assembler.corrupt_frames == 1


def test_truncated_frame_is_dropped_when_the_next_one_starts() -> None:
    frame = _frame()
    assembler = FrameAssembler()
    parts = fragments(frame)
    out = [f for part in parts[:2] + parts for f in assembler.feed_fragment(part)]
    assert out == [frame]
    assert assembler.corrupt_frames == 1


def test_garbage_never_yields_a_frame_and_the_buffer_stays_bounded() -> None:
    assembler = FrameAssembler(max_buffer=1024)
    noise = bytes((i * 97 + 13) % 256 for i in range(50_000)) + bytes([0x55, 0xAA, 0xEB, 0x90]) + bytes(900)
    out = [f for i in range(0, len(noise), 100) for f in assembler.feed(noise[i:i + 100])]
    assert out == []
    assert assembler.buffered <= 1024
