"""Decode and encode JK frames (and the JK-PB register image) from the layout tables.

One codec serves both directions so the simulators speak exactly what the drivers read.
Frames are little-endian; the FC03 register image is big-endian (standard Modbus words),
so every function takes the byte order.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from adapters.jkbms.frames import (
    CHECKSUM_AT,
    FRAME_LEN,
    HEADER,
    TYPE_CELL_INFO,
    TYPE_DEVICE_INFO,
    frame_checksum,
)
from adapters.jkbms.layouts import (
    DEVICE_INFO_NUMBERS,
    DEVICE_INFO_TEXT,
    LAYOUT_24S,
    LAYOUT_32S,
    CellInfoLayout,
    Field,
)

_KINDS = {"u8": "B", "u16": "H", "s16": "h", "u32": "I", "s32": "i"}


def _fmt(kind: str, byteorder: str) -> str:
    return byteorder + _KINDS[kind]


def decode_fields(buf: bytes, fields: tuple[Field, ...], byteorder: str = "<") -> dict[str, float]:
    """Every field of ``fields`` read from ``buf`` and scaled (fields beyond the end are skipped)."""
    values: dict[str, float] = {}
    for f in fields:
        fmt = _fmt(f.kind, byteorder)
        if f.offset + struct.calcsize(fmt) <= len(buf):
            raw = struct.unpack_from(fmt, buf, f.offset)[0]
            values[f.name] = round(raw * f.scale, 4) if f.scale != 1 else raw
    return values


def encode_fields(buf: bytearray, fields: tuple[Field, ...], values: dict[str, float],
                  byteorder: str = "<") -> None:
    """Write each value named in ``values`` into ``buf`` at its field's place."""
    for f in fields:
        if f.name in values:
            raw = round(values[f.name] / f.scale)
            struct.pack_into(_fmt(f.kind, byteorder), buf, f.offset, raw)


def decode_cells(buf: bytes, layout: CellInfoLayout, byteorder: str = "<") -> list[tuple[int, float]]:
    """(index, volts) of each present cell: those in the cell bitmask, else those above 0 V."""
    mask_field = next(f for f in layout.fields if f.name == "cell_mask")
    mask = struct.unpack_from(_fmt("u32", byteorder), buf, mask_field.offset)[0]
    cells = []
    for i in range(layout.max_cells):
        mv = struct.unpack_from(_fmt("u16", byteorder), buf, layout.cell_offset + 2 * i)[0]
        present = bool(mask >> i & 1) if mask else mv > 0
        if present:
            cells.append((i, mv / 1000))
    return cells


def encode_cells(buf: bytearray, layout: CellInfoLayout, cells_mv: list[int], byteorder: str = "<",
                 resistance_mohm: int = 30) -> None:
    """Write cell voltages, their bitmask and wire resistances."""
    for i, mv in enumerate(cells_mv):
        struct.pack_into(_fmt("u16", byteorder), buf, layout.cell_offset + 2 * i, mv)
        struct.pack_into(_fmt("u16", byteorder), buf, layout.resistance_offset + 2 * i, resistance_mohm)
    mask = (1 << len(cells_mv)) - 1
    encode_fields(buf, layout.fields, {"cell_mask": mask}, byteorder)


def seal_frame(body: bytearray, frame_type: int, counter: int = 0) -> bytes:
    """Put header, type, counter and checksum into a 300-byte frame body."""
    body[:4] = HEADER
    body[4] = frame_type
    body[5] = counter & 0xFF
    body[CHECKSUM_AT] = frame_checksum(body)
    return bytes(body[:FRAME_LEN])


def decode_device_info(buf: bytes, byteorder: str = "<") -> dict[str, Any]:
    """Vendor, versions, name, serial number and counters of a device-info frame (or image)."""
    info: dict[str, Any] = {}
    for t in DEVICE_INFO_TEXT:
        raw = bytes(buf[t.offset:t.offset + t.length])
        info[t.name] = raw.split(b"\x00")[0].decode("ascii", "replace").strip()
    info.update(decode_fields(buf, DEVICE_INFO_NUMBERS, byteorder))
    return info


def encode_device_info(info: dict[str, Any], counter: int = 0) -> bytes:
    """A complete device-info (type 0x03) frame."""
    body = bytearray(FRAME_LEN)
    for t in DEVICE_INFO_TEXT:
        text = str(info.get(t.name, "")).encode("ascii")[:t.length]
        body[t.offset:t.offset + len(text)] = text
    encode_fields(body, DEVICE_INFO_NUMBERS, {k: v for k, v in info.items() if isinstance(v, int)})
    return seal_frame(body, TYPE_DEVICE_INFO, counter)


def layout_for_hardware(hardware_version: str) -> CellInfoLayout:
    """32S for hardware version 11 and later, 24S before (the leading number decides)."""
    match = re.match(r"\s*(\d+)", hardware_version)
    if match and int(match.group(1)) < 11:
        return LAYOUT_24S
    return LAYOUT_32S


def encode_cell_info(values: dict[str, float], cells_mv: list[int], layout: CellInfoLayout,
                     counter: int = 0, byteorder: str = "<") -> bytes:
    """A complete cell-info (type 0x02) frame, or with ``byteorder='>'`` its register image."""
    body = bytearray(FRAME_LEN)
    encode_cells(body, layout, cells_mv, byteorder)
    encode_fields(body, layout.fields, values, byteorder)
    return seal_frame(body, TYPE_CELL_INFO, counter)


def layout_fits(buf: bytes, layout: CellInfoLayout, byteorder: str = "<") -> bool:
    """Whether ``buf`` decodes as a plausible cell-info image in ``layout``.

    Most cells must lie within 1-5 V and the total voltage must be one a string of that many
    cells can have. Decoded in the wrong layout, the total lands on unrelated bytes (0 V or
    thousands of volts), which no real pack shows.
    """
    cells = [volts for _, volts in decode_cells(buf, layout, byteorder)]
    if not cells:
        return False
    total = decode_fields(buf, layout.fields, byteorder).get("total_voltage", 0.0)
    in_range = sum(1.0 <= v <= 5.0 for v in cells)
    return 2 * in_range > len(cells) and 1.0 * len(cells) <= total <= 5.0 * len(cells)


def detect_layout(buf: bytes, hint: CellInfoLayout | None = None) -> CellInfoLayout | None:
    """The layout a cell-info frame decodes in (``hint`` wins a tie), or None when none fits."""
    fitting = [layout for layout in (LAYOUT_24S, LAYOUT_32S) if layout_fits(buf, layout)]
    if len(fitting) > 1 and hint in fitting:
        return hint
    return fitting[0] if fitting else None


def is_jk04_cell_info(buf: bytes) -> bool:
    """Whether a cell-info frame carries JK04's float32 cell voltages (older JK-B BMSes).

    JK04 sends each cell as a little-endian float32 volt value from byte 6; JK02 sends
    u16 millivolts, whose byte pairs never read as floats of a few volts.
    """
    floats = [struct.unpack_from("<f", buf, 6 + 4 * i)[0] for i in range(24)]
    nonzero = [f for f in floats if f != 0.0]
    in_range = [f for f in nonzero if 1.0 <= f <= 5.0]
    return len(in_range) >= 4 and 2 * len(in_range) > len(nonzero)
