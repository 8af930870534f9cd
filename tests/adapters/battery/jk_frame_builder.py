"""Builds JK02 frames byte by byte from field values, independently of adapters.jkbms.

Offsets are copied by hand from the protocol table (protocols.md §4a), not imported, so
a wrong offset in the product's layout tables makes the tests fail.
"""

from __future__ import annotations

import struct

OFFSETS = {
    # field: (24S offset, 32S offset, struct format)
    "mask": (54, 70, "<I"),
    "voltage_mv": (118, 150, "<I"),
    "power_mw": (122, 154, "<I"),
    "current_ma": (126, 158, "<i"),
    "temp1_dc": (130, 162, "<h"),
    "temp2_dc": (132, 164, "<h"),
    "mos_dc": (134, 144, "<h"),
    "soc": (141, 173, "<B"),
    "remaining_mah": (142, 174, "<I"),
    "nominal_mah": (146, 178, "<I"),
    "cycles": (150, 182, "<I"),
}


def cell_info_frame(layout: str, cells_mv: list[int], *, current_ma: int, soc: int, temp1_dc: int,
                    temp2_dc: int, cycles: int, nominal_mah: int = 280000, remaining_mah: int = 140000,
                    mos_dc: int = 300, frame_len: int = 300, counter: int = 7) -> bytes:
    """A type-0x02 frame with the given values; the checksum is summed here, byte by byte."""
    column = 0 if layout == "24s" else 1
    frame = bytearray(frame_len)
    frame[0:4] = bytes([0x55, 0xAA, 0xEB, 0x90])
    frame[4], frame[5] = 0x02, counter
    for i, mv in enumerate(cells_mv):
        frame[6 + 2 * i] = mv & 0xFF
        frame[7 + 2 * i] = mv >> 8
    voltage_mv = sum(cells_mv)
    values = {"mask": (1 << len(cells_mv)) - 1, "voltage_mv": voltage_mv,
              "power_mw": abs(voltage_mv * current_ma) // 1000, "current_ma": current_ma,
              "temp1_dc": temp1_dc, "temp2_dc": temp2_dc, "mos_dc": mos_dc, "soc": soc,
              "remaining_mah": remaining_mah, "nominal_mah": nominal_mah, "cycles": cycles}
    for name, value in values.items():
        offset, fmt = OFFSETS[name][column], str(OFFSETS[name][2])
        struct.pack_into(fmt, frame, int(offset), value)
    total = 0
    for byte in frame[:299]:
        total += byte
    frame[299] = total % 256
    return bytes(frame)


def device_info_frame(serial: str, vendor: str = "JK_B2A24S15P", hardware: str = "11.XW") -> bytes:
    """A type-0x03 frame: vendor at 6, hardware version at 22, serial number at 86."""
    frame = bytearray(300)
    frame[0:6] = bytes([0x55, 0xAA, 0xEB, 0x90, 0x03, 0x01])
    frame[6:6 + len(vendor)] = vendor.encode()
    frame[22:22 + len(hardware)] = hardware.encode()
    frame[86:86 + len(serial)] = serial.encode()
    frame[299] = sum(frame[:299]) % 256
    return bytes(frame)


def fragments(frame: bytes, size: int = 128) -> list[bytes]:
    return [frame[i:i + size] for i in range(0, len(frame), size)]
