"""The byte link to a JK-PB RS485 bus, with request pacing and a token queue.

Two links carry the same bus bytes: a raw TCP socket to a transparent RS485 gateway, and
a USB RS485 adapter on a serial port. Everything above them (tokenizing, attribution,
decoding) is the same.
"""

from __future__ import annotations

import socket
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable

import serial

from adapters.errors import TransportError
from adapters.jkbms_tcpip.bus import BusParser, BusToken

RECV_SIZE = 1024
SERIAL_POLL_S = 0.02  # pyserial read wait; the deadline is enforced here


class BusLink(ABC):
    """Sends requests (spaced by ``gap_s``: the bus needs quiet time) and yields bus tokens."""

    def __init__(self, timeout: float, gap_s: float) -> None:
        self.timeout, self.gap_s = timeout, gap_s
        self.parser = BusParser()
        self._queue: deque[BusToken] = deque()
        self._last_send = 0.0

    @abstractmethod
    def describe(self) -> str:
        """Where the bus is reached: ``gateway 10.0.0.5:5022`` or ``serial /dev/ttyUSB0``."""

    @abstractmethod
    def _send_bytes(self, data: bytes) -> None: ...

    @abstractmethod
    def _recv_bytes(self, timeout: float) -> bytes:
        """Up to RECV_SIZE bytes; ``b""`` when nothing came within ``timeout``."""

    @abstractmethod
    def _discard_input(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    def close(self) -> None:
        self._close()
        self._queue.clear()
        self.parser.reset()

    def send(self, data: bytes) -> None:
        """Drop stale input, wait out the inter-request gap, then send."""
        self.drain()
        wait = self._last_send + self.gap_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._send_bytes(data)
        self._last_send = time.monotonic()

    def wait_for(self, wanted: Callable[[BusToken], bool], deadline: float, what: str) -> BusToken:
        """The next token for which ``wanted`` is true; others are discarded. Raises on timeout."""
        while True:
            while self._queue:
                token = self._queue.popleft()
                if wanted(token):
                    return token
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportError(f"no {what} within {self.timeout:g} s")
            data = self._recv_bytes(remaining)
            if data:
                self._queue.extend(self.parser.feed(data, time.monotonic()))

    def drain(self) -> None:
        """Discard whatever arrived since the last exchange (it is stale now)."""
        self._discard_input()
        self._queue.clear()
        self.parser.reset()


class GatewayLink(BusLink):
    """A raw socket to a transparent RS485-to-TCP gateway."""

    def __init__(self, host: str, port: int, timeout: float, gap_s: float) -> None:
        super().__init__(timeout, gap_s)
        self.host, self.port = host, port
        self._sock: socket.socket | None = None

    def describe(self) -> str:
        return f"gateway {self.host}:{self.port}"

    def _socket(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            except OSError as exc:
                raise TransportError(f"cannot connect to gateway {self.host}:{self.port}: {exc}") from exc
        return self._sock

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _send_bytes(self, data: bytes) -> None:
        try:
            self._socket().sendall(data)
        except OSError as exc:
            raise TransportError(f"send to gateway failed: {exc}") from exc

    def _recv_bytes(self, timeout: float) -> bytes:
        sock = self._socket()
        sock.settimeout(timeout)
        try:
            data = sock.recv(RECV_SIZE)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise TransportError(f"gateway connection failed: {exc}") from exc
        if not data:
            raise TransportError("gateway closed the connection")
        return data

    def _discard_input(self) -> None:
        sock = self._socket()
        sock.setblocking(False)
        try:
            while sock.recv(RECV_SIZE):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            raise TransportError(f"gateway connection failed: {exc}") from exc
        finally:
            sock.setblocking(True)


class SerialBusLink(BusLink):
    """A USB RS485 adapter wired to the bus (115200 8N1 on JK-PB packs)."""

    def __init__(self, path: str, baudrate: int, timeout: float, gap_s: float) -> None:
        super().__init__(timeout, gap_s)
        self.path, self.baudrate = path, baudrate
        self._port: serial.Serial | None = None

    def describe(self) -> str:
        return f"serial {self.path}"

    def _serial(self) -> serial.Serial:
        if self._port is None:
            try:
                self._port = serial.Serial(self.path, baudrate=self.baudrate, timeout=SERIAL_POLL_S,
                                           write_timeout=self.timeout, exclusive=True)
            except (serial.SerialException, OSError, ValueError) as exc:
                raise TransportError(f"cannot open {self.path}: {exc}") from exc
        return self._port

    def _close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def _send_bytes(self, data: bytes) -> None:
        try:
            self._serial().write(data)
            self._serial().flush()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"serial write failed: {exc}") from exc

    def _recv_bytes(self, timeout: float) -> bytes:
        port = self._serial()
        deadline = time.monotonic() + timeout
        try:
            while True:
                data: bytes = port.read(max(1, min(port.in_waiting, RECV_SIZE)))
                if data or time.monotonic() >= deadline:
                    return data
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"serial read failed: {exc}") from exc

    def _discard_input(self) -> None:
        try:
            self._serial().reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"serial port failed: {exc}") from exc
