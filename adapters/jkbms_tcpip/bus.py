"""Split raw RS485 bus bytes into JK frames and Modbus RTU messages.

A transparent gateway relays the bus unchanged, so one byte stream carries ``55 AA EB 90``
frames, FC16 trigger requests and their acknowledgements, FC03 requests, replies and
exception replies. The buffer is bounded; a frame with a bad checksum, or cut short by
another header, is counted in ``corrupt_frames`` and dropped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from adapters.jkbms.frames import CHECKSUM_AT, FRAME_LEN, HEADER, crc_ok, is_valid_frame


@dataclass(frozen=True)
class BusToken:
    """One recognised message on the bus, with the monotonic time its last byte arrived."""

    kind: str  # frame | trigger | ack | read_request | read_reply | exception
    address: int = 0
    register: int = 0
    data: bytes = b""
    at: float = 0.0


WAIT = None  # the buffer holds the start of a message whose end has not arrived


class BusParser:
    """Incremental tokenizer; feed it bytes as they arrive."""

    def __init__(self, max_buffer: int = 4096) -> None:
        self.max_buffer = max_buffer
        self.corrupt_frames = 0
        self.discarded_bytes = 0
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a message (never more than ``max_buffer``)."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes, at: float = 0.0) -> list[BusToken]:
        """Append ``data`` and return every complete message now in the buffer."""
        self._buf += data
        if len(self._buf) > self.max_buffer:
            excess = len(self._buf) - self.max_buffer
            self.discarded_bytes += excess
            del self._buf[:excess]
        tokens: list[BusToken] = []
        while self._buf:
            result = self._next(at)
            if result is WAIT:
                break
            if isinstance(result, BusToken):
                tokens.append(result)
        return tokens

    def _next(self, at: float) -> BusToken | bool | None:
        """One step: a token, True when bytes were dropped, or WAIT for more bytes."""
        buf = self._buf
        if buf[:4] == HEADER[: len(buf[:4])] and len(buf) < 4:
            return WAIT
        if buf[:4] == HEADER:
            return self._frame(at)
        if len(buf) < 2:
            return WAIT
        parsed = self._modbus(at)
        if parsed is WAIT and HEADER in buf[1:]:
            parsed = False  # a frame header overtakes an unfinished Modbus guess
        if parsed is False:
            self._drop(1)
            return True
        return parsed

    def _frame(self, at: float) -> BusToken | bool | None:
        if len(self._buf) < FRAME_LEN:
            cut = self._buf.find(HEADER, 4)
            if cut < 0:
                return WAIT
            self.corrupt_frames += 1  # a new frame started before this one ended
            self._drop(cut)
            return True
        frame = bytes(self._buf[:FRAME_LEN])
        if frame.find(HEADER, 4, CHECKSUM_AT) >= 0 or not is_valid_frame(frame):
            self.corrupt_frames += 1
            self._drop(4)
            return True
        del self._buf[:FRAME_LEN]
        return BusToken("frame", data=frame, at=at)

    def _modbus(self, at: float) -> BusToken | bool | None:
        buf = self._buf
        address, function = buf[0], buf[1]
        if function == 0x10:
            if len(buf) >= 11 and buf[6] == 2 and crc_ok(bytes(buf[:11])):
                register = struct.unpack_from(">H", buf, 2)[0]
                return self._take(11, BusToken("trigger", address, register, at=at))
            if len(buf) >= 8 and crc_ok(bytes(buf[:8])):
                register = struct.unpack_from(">H", buf, 2)[0]
                return self._take(8, BusToken("ack", address, register, at=at))
            return WAIT if len(buf) < 11 else False
        if function == 0x03:
            size = 5 + buf[2] if len(buf) >= 3 else 5
            if len(buf) >= size and crc_ok(bytes(buf[:size])):
                return self._take(size, BusToken("read_reply", address, data=bytes(buf[3:size - 2]), at=at))
            if len(buf) >= 8 and crc_ok(bytes(buf[:8])):
                register = struct.unpack_from(">H", buf, 2)[0]
                count = bytes(buf[4:6])
                return self._take(8, BusToken("read_request", address, register, count, at))
            return WAIT if len(buf) < max(size, 8) else False
        if function in (0x83, 0x90):
            if len(buf) < 5:
                return WAIT
            if crc_ok(bytes(buf[:5])):
                return self._take(5, BusToken("exception", address, function & 0x7F, bytes(buf[2:3]), at))
        return False

    def _take(self, size: int, token: BusToken) -> BusToken:
        del self._buf[:size]
        return token

    def _drop(self, size: int) -> None:
        self.discarded_bytes += size
        del self._buf[:size]
