"""JK02 frame layouts as data: where each field sits and how it is encoded.

Offsets are byte positions inside a ``55 AA EB 90`` frame (protocols.md §4a). The
JK-PB FC03 register block 0x1200 is the 32S cell-info frame minus its 6-byte header, so
register address ``0x1200 + k`` is frame offset ``6 + k`` (§4b(ii)).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One numeric field: byte offset, struct kind (u8/u16/s16/u32/s32) and scale to SI units."""

    name: str
    offset: int
    kind: str
    scale: float = 1.0


@dataclass(frozen=True)
class TextField:
    """One fixed-width ASCII field of the device-info frame."""

    name: str
    offset: int
    length: int


@dataclass(frozen=True)
class CellInfoLayout:
    """Layout of a cell-info (type 0x02) frame for one hardware generation."""

    name: str
    max_cells: int
    cell_offset: int
    resistance_offset: int
    fields: tuple[Field, ...]


def _fields(shift: int, extra: tuple[Field, ...] = ()) -> tuple[Field, ...]:
    """The fields after the resistance block, which move together by ``shift`` bytes."""
    s = shift
    return (
        Field("total_voltage", 118 + s, "u32", 0.001),
        Field("power", 122 + s, "u32", 0.001),
        Field("current", 126 + s, "s32", 0.001),
        Field("temp1", 130 + s, "s16", 0.1),
        Field("temp2", 132 + s, "s16", 0.1),
        Field("balance_current", 138 + s, "s16", 0.001),
        Field("balancing", 140 + s, "u8"),
        Field("soc", 141 + s, "u8"),
        Field("remaining_ah", 142 + s, "u32", 0.001),
        Field("nominal_ah", 146 + s, "u32", 0.001),
        Field("cycles", 150 + s, "u32"),
        Field("cycle_capacity_ah", 154 + s, "u32", 0.001),
        Field("soh", 158 + s, "u8"),
        Field("runtime_s", 162 + s, "u32"),
        Field("charge_mos", 166 + s, "u8"),
        Field("discharge_mos", 167 + s, "u8"),
        Field("temp_sensors", 182 + s, "u8"),
        *extra,
    )


LAYOUT_24S = CellInfoLayout(
    name="24s", max_cells=24, cell_offset=6, resistance_offset=64,
    fields=(
        Field("cell_mask", 54, "u32"),
        Field("cell_avg", 58, "u16", 0.001),
        Field("cell_delta", 60, "u16", 0.001),
        Field("cell_max_index", 62, "u8"),
        Field("cell_min_index", 63, "u8"),
        Field("mos_temp", 134, "s16", 0.1),
        Field("errors", 136, "u16"),
        *_fields(0),
    ),
)

LAYOUT_32S = CellInfoLayout(
    name="32s", max_cells=32, cell_offset=6, resistance_offset=80,
    fields=(
        Field("cell_mask", 70, "u32"),
        Field("cell_avg", 74, "u16", 0.001),
        Field("cell_delta", 76, "u16", 0.001),
        Field("cell_max_index", 78, "u8"),
        Field("cell_min_index", 79, "u8"),
        Field("mos_temp", 144, "s16", 0.1),
        Field("errors", 166, "u32"),
        *_fields(32, (Field("temp3", 254, "s16", 0.1), Field("temp4", 256, "s16", 0.1),
                      Field("temp5", 258, "s16", 0.1))),
    ),
)

LAYOUTS = {"24s": LAYOUT_24S, "32s": LAYOUT_32S}

# Temperature sensors: the bit of each in the ``temp_sensors`` presence mask (bit set =
# sensor fitted), and the raw value firmware reports for a sensor that is not there.
TEMP_SENSOR_BITS = {"mos_temp": 0, "temp1": 1, "temp2": 2, "temp3": 3, "temp4": 4, "temp5": 5}
ABSENT_TEMPERATURE_RAW = -2000  # 0x30F8 little-endian, i.e. -200.0 °C: "no sensor"

DEVICE_INFO_TEXT = (
    TextField("vendor", 6, 16),
    TextField("hardware_version", 22, 8),
    TextField("software_version", 30, 8),
    TextField("device_name", 46, 16),
    TextField("manufacturing_date", 78, 8),
    TextField("serial_number", 86, 11),
)
DEVICE_INFO_NUMBERS = (
    Field("uptime_s", 38, "u32"),
    Field("power_on_count", 42, "u32"),
)

# Settings (type 0x01) frame of 32S firmware: the protection limits, and the cell count,
# nominal capacity and RS485 address the BMS is configured with.
SETTINGS_32S = (
    Field("cell_uvp", 10, "u32", 0.001),
    Field("cell_uvpr", 14, "u32", 0.001),
    Field("cell_ovp", 18, "u32", 0.001),
    Field("cell_ovpr", 22, "u32", 0.001),
    Field("soc100_voltage", 30, "u32", 0.001),
    Field("soc0_voltage", 34, "u32", 0.001),
    Field("cell_rcv", 38, "u32", 0.001),
    Field("cell_rfv", 42, "u32", 0.001),
    Field("max_charge_current", 50, "u32", 0.001),
    Field("max_discharge_current", 62, "u32", 0.001),
    Field("cell_count", 114, "u8"),
    Field("nominal_ah", 130, "u32", 0.001),
    Field("device_address", 270, "u8"),
)

# The JK-PB register blocks (byte-offset addressing) and where they start in a frame.
REGISTER_LIVE_BASE = 0x1200
REGISTER_INFO_BASE = 0x1400
FRAME_HEADER_LEN = 6
