"""Register decoding against hand-computed words, and the read planner's arithmetic."""

from __future__ import annotations

import pytest

from adapters.modbus.planner import Block, plan_blocks, split_block
from adapters.modbus.registers import Reg, RegisterMap, decode_string, encode_string
from adapters.powdrive import registers as deye

pytestmark = pytest.mark.timeout(30)


def test_serial_number_is_two_ascii_characters_per_register_high_byte_first() -> None:
    words = [0x4148, 0x3132, 0x3334, 0x3536, 0x3738]  # "AH", "12", "34", "56", "78"
    assert decode_string(words) == "AH12345678"
    assert encode_string("AH12345678", 5) == words


def test_deye_identity_block_reads_serial_from_registers_3_to_7() -> None:
    words = {a: 0 for a in range(23)}
    words |= {0: 0x0005, 3: 0x4148, 4: 0x3132, 5: 0x3334, 6: 0x3536, 7: 0x3738}
    values = deye.IDENTITY.decode(words)
    assert values["serial_number"] == "AH12345678"
    assert values["device_type"] == 5


def test_deye_32_bit_counters_are_low_word_first() -> None:
    # 123456.7 kWh = 1234567 counts = 0x0012_D687: low word 0xD687 at 534, high 0x0012 at 535.
    value = deye.THREE_PHASE_MAP.decode({534: 0xD687, 535: 0x0012})["pv_total_kwh"]
    assert value == pytest.approx(123456.7)


def test_single_phase_grid_import_total_skips_the_frequency_register() -> None:
    # Low word at 78, high word at 80; 79 is grid frequency and must not leak in.
    values = deye.SINGLE_PHASE_MAP.decode({78: 0x0001, 79: 5000, 80: 0x0002})
    assert values["grid_import_total_kwh"] == pytest.approx((2 * 65536 + 1) * 0.1)
    assert values["grid_frequency"] == pytest.approx(50.0)


def test_deye_three_phase_grid_power_joins_a_far_away_high_word() -> None:
    # -70000 W = 0xFFFE_EE90 as S32: low 0xEE90 at 625, high 0xFFFE at 690.
    assert deye.THREE_PHASE_MAP.decode({625: 0xEE90, 690: 0xFFFE})["grid_power"] == -70000


def test_deye_battery_sign_is_inverted_so_charging_is_positive() -> None:
    # Deye reports 0xFC18 = -1000 W at 590 while charging; the contract wants +1000.
    values = deye.THREE_PHASE_MAP.decode({590: 0xFC18, 591: 0x0FA0})
    assert values["battery_power"] == 1000
    assert values["battery_current"] == pytest.approx(-40.0)  # +4000 × 0.01 A raw = discharging


def test_deye_temperatures_are_offset_by_1000_tenths() -> None:
    assert deye.THREE_PHASE_MAP.decode({586: 1253})["battery_temp"] == pytest.approx(25.3)
    assert deye.THREE_PHASE_MAP.decode({586: 950})["battery_temp"] == pytest.approx(-5.0)


def test_high_word_first_maps_read_big_end_first() -> None:
    regmap = RegisterMap("t", "high_first", (Reg("p", 10, "s32", scale=0.1),))
    # -1002.0 W = -10020 = 0xFFFF_D8DC
    assert regmap.decode({10: 0xFFFF, 11: 0xD8DC})["p"] == pytest.approx(-1002.0)


def test_encoding_is_the_inverse_of_decoding_for_every_deye_field() -> None:
    # Any whole number of counts survives the round trip: 37 counts of each field's step.
    values = {e.field: 37 * e.scale for e in deye.THREE_PHASE_HV_MAP.entries}
    words = deye.THREE_PHASE_HV_MAP.encode(values)
    assert deye.THREE_PHASE_HV_MAP.decode(words) == pytest.approx(values)


def test_planner_coalesces_neighbours_and_bridges_small_gaps() -> None:
    assert plan_blocks([1, 2, 3, 10, 11], gap_bridge=6) == [Block(1, 11)]
    assert plan_blocks([1, 2, 3, 10, 11], gap_bridge=5) == [Block(1, 3), Block(10, 2)]


def test_planner_never_asks_for_more_than_125_registers() -> None:
    blocks = plan_blocks(range(0, 300), gap_bridge=8)
    assert [b.count for b in blocks] == [125, 125, 50]
    assert plan_blocks(range(0, 10), max_block=4) == [Block(0, 4), Block(4, 4), Block(8, 2)]


def test_planner_reads_a_three_phase_deye_map_in_a_handful_of_requests() -> None:
    blocks = plan_blocks(deye.THREE_PHASE_MAP.addresses(), gap_bridge=8)
    assert len(blocks) <= 7
    assert all(b.count <= 125 for b in blocks)
    covered = {a for b in blocks for a in range(b.start, b.end + 1)}
    assert set(deye.THREE_PHASE_MAP.addresses()) <= covered


def test_split_drops_bridged_holes_first_then_halves() -> None:
    assert split_block(Block(10, 11), [10, 11, 20]) == [Block(10, 2), Block(20, 1)]
    assert split_block(Block(10, 4), [10, 11, 12, 13]) == [Block(10, 2), Block(12, 2)]
    assert split_block(Block(10, 1), [10]) == []
