"""One console conversation over a serial port: wake, send a command, collect its reply."""

from __future__ import annotations

import re
import time

import serial

from adapters.errors import TransportError
from adapters.pytes.parsing import END, PAGER, extract_body

_PROMPT = re.compile(rb"([A-Za-z]+)>\s*$")
MAX_REPLY_BYTES = 64 * 1024  # 16 units of `pwr` is ~4 KiB; anything far larger is a stuck line
IDLE_AFTER_END_S = 0.15  # some firmware ends a reply with "$$" and no prompt


class ConsoleSession:
    """Talks to the console on an open pyserial port (whose own read timeout is short)."""

    def __init__(self, port: serial.Serial, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self.prompt = ""

    def wake(self) -> str:
        """Send ``\\r\\n`` and wait for a prompt (``pylon>``/``PYTES>``); return its name."""
        self.port.reset_input_buffer()
        self._write(b"\r\n")
        buf = bytearray()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            buf += self._read()
            self._check_size(buf, "wake")
            match = _PROMPT.search(bytes(buf))
            if match:
                self.prompt = match.group(1).decode()
                return self.prompt
        what = f"{len(buf)} bytes without a prompt" if buf else "silence"
        raise TransportError(f"console did not answer the wake-up within {self.timeout:g} s ({what})")

    def command(self, command: str) -> list[str]:
        """Run ``command`` and return its body lines; pager pauses are answered with ``\\r``."""
        self.port.reset_input_buffer()
        self._write(command.encode("ascii") + b"\r")
        buf = bytearray()
        pager = PAGER.encode()
        deadline = time.monotonic() + self.timeout
        last_data = time.monotonic()
        while time.monotonic() < deadline:
            chunk = self._read()
            if chunk:
                buf += chunk
                last_data = time.monotonic()
                self._check_size(buf, command)
            if pager in buf:
                buf = buf.replace(pager, b"\n")
                self._write(b"\r")
                deadline = time.monotonic() + self.timeout  # each page gets its own time
                continue
            if self._complete(buf, time.monotonic() - last_data):
                return extract_body(buf.decode("latin-1"), command)
        what = f"{len(buf)} bytes, no end marker" if buf else "silence"
        raise TransportError(f"no complete reply to {command!r} within {self.timeout:g} s ({what})")

    @staticmethod
    def _complete(buf: bytearray, idle_s: float) -> bool:
        end = buf.rfind(END.encode())
        if end < 0:
            return False
        return bool(_PROMPT.search(bytes(buf[end + 2:]))) or idle_s >= IDLE_AFTER_END_S

    def _read(self) -> bytes:
        try:
            data: bytes = self.port.read(max(1, self.port.in_waiting))
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"serial read failed: {exc}") from exc
        return data

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"serial write failed: {exc}") from exc

    @staticmethod
    def _check_size(buf: bytearray, what: str) -> None:
        if len(buf) > MAX_REPLY_BYTES:
            raise TransportError(f"reply to {what!r} exceeds {MAX_REPLY_BYTES} bytes; line is stuck")
