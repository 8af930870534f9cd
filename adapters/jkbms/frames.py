"""JK frame constants, checksums, request builders and a bounded frame assembler."""

from __future__ import annotations

import struct

HEADER = b"\x55\xaa\xeb\x90"
FRAME_LEN = 300
LONG_FRAME_LEN = 320  # some firmware pads to 320 bytes; the checksum stays at 299
CHECKSUM_AT = 299

TYPE_SETTINGS = 0x01
TYPE_CELL_INFO = 0x02
TYPE_DEVICE_INFO = 0x03

BLE_CMD_DEVICE_INFO = 0x97
BLE_CMD_CELL_INFO = 0x96

# FC16 trigger registers of the JK-PB RS485 bus and the frame type each one triggers.
TRIGGER_CELL_INFO = 0x1620
TRIGGER_SETTINGS = 0x161E
TRIGGER_DEVICE_INFO = 0x161C
TRIGGER_FRAME_TYPE = {TRIGGER_CELL_INFO: TYPE_CELL_INFO, TRIGGER_SETTINGS: TYPE_SETTINGS,
                      TRIGGER_DEVICE_INFO: TYPE_DEVICE_INFO}


def frame_checksum(frame: bytes) -> int:
    """Sum of bytes 0..298 modulo 256: the value a valid frame carries at byte 299."""
    return sum(frame[:CHECKSUM_AT]) & 0xFF


def is_valid_frame(frame: bytes) -> bool:
    """True for a complete frame with the right header and checksum."""
    return (len(frame) >= FRAME_LEN and frame[:4] == HEADER
            and frame[CHECKSUM_AT] == frame_checksum(frame))


def ble_command(command: int, value: int = 0) -> bytes:
    """The 20-byte BLE command frame ``AA 55 90 EB cmd len value[4] 0*9 crc``."""
    body = b"\xaa\x55\x90\xeb" + bytes([command, 0]) + struct.pack("<I", value) + bytes(9)
    return body + bytes([sum(body) & 0xFF])


def crc16_modbus(data: bytes) -> int:
    """Modbus RTU CRC-16 (polynomial 0xA001, initial 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(data: bytes) -> bytes:
    """``data`` followed by its Modbus CRC, low byte first."""
    return data + struct.pack("<H", crc16_modbus(data))


def crc_ok(frame: bytes) -> bool:
    """True when the last two bytes of ``frame`` are the Modbus CRC of the rest."""
    return len(frame) >= 4 and crc16_modbus(frame[:-2]) == struct.unpack("<H", frame[-2:])[0]


def trigger_request(address: int, register: int) -> bytes:
    """FC16 write of one zero register that makes a JK-PB send a frame."""
    return with_crc(struct.pack(">BBHHBH", address, 0x10, register, 1, 2, 0))


def trigger_ack(address: int, register: int) -> bytes:
    """The 8-byte FC16 acknowledgement that follows the frame."""
    return with_crc(struct.pack(">BBHH", address, 0x10, register, 1))


def read_registers_request(address: int, start: int, count: int) -> bytes:
    """FC03 read of ``count`` words at ``start``."""
    return with_crc(struct.pack(">BBHH", address, 0x03, start, count))


class FrameAssembler:
    """Reassembles ``55 AA EB 90`` frames from a byte stream or from BLE notifications.

    The buffer is bounded; bytes that cannot belong to a frame are discarded. A frame
    whose checksum fails, or that is cut short by the next header, is dropped and
    counted in ``corrupt_frames``; it is never returned.
    """

    def __init__(self, max_buffer: int = 2048) -> None:
        self.max_buffer = max_buffer
        self.corrupt_frames = 0
        self.discarded_bytes = 0
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a message (never more than ``max_buffer``)."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any partial frame (after a reconnect)."""
        self._buf.clear()

    def feed_fragment(self, data: bytes) -> list[bytes]:
        """Feed one BLE notification: a fragment starting with the header starts a new frame."""
        if data[:4] == HEADER and self._buf[:4] == HEADER and len(self._buf) < FRAME_LEN:
            self.corrupt_frames += 1  # the previous frame never completed
            self._buf.clear()
        return self.feed(data)

    def feed(self, data: bytes) -> list[bytes]:
        """Append ``data``; return every complete, valid frame now available."""
        self._buf += data
        if len(self._buf) > self.max_buffer:
            excess = len(self._buf) - self.max_buffer
            self.discarded_bytes += excess
            del self._buf[:excess]
        frames: list[bytes] = []
        while True:
            start = self._buf.find(HEADER)
            if start < 0:
                keep = 3  # a header may be split across two reads
                self.discarded_bytes += max(0, len(self._buf) - keep)
                del self._buf[:-keep]
                return frames
            if start:
                self.discarded_bytes += start
                del self._buf[:start]
            if len(self._buf) < FRAME_LEN:
                return frames
            frame = bytes(self._buf[:FRAME_LEN])
            if self._cut_short(frame) or not is_valid_frame(frame):
                self.corrupt_frames += 1
                del self._buf[:4]
                continue
            del self._buf[:FRAME_LEN]
            frames.append(frame)

    @staticmethod
    def _cut_short(frame: bytes) -> bool:
        # A second header inside the checksummed area means the first frame was truncated.
        return frame.find(HEADER, 4, CHECKSUM_AT) >= 0
