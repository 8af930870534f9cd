"""The TCP connection to a transparent RS485 gateway, with request pacing and a token queue."""

from __future__ import annotations

import socket
import time
from collections import deque
from collections.abc import Callable

from adapters.errors import TransportError
from adapters.jkbms_tcpip.bus import BusParser, BusToken

RECV_SIZE = 1024


class GatewayLink:
    """A raw socket to the gateway. Requests are spaced by ``gap_s`` (the bus needs quiet time)."""

    def __init__(self, host: str, port: int, timeout: float, gap_s: float) -> None:
        self.host, self.port, self.timeout, self.gap_s = host, port, timeout, gap_s
        self.parser = BusParser()
        self._sock: socket.socket | None = None
        self._queue: deque[BusToken] = deque()
        self._last_send = 0.0

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._queue.clear()
        self.parser.reset()

    def _socket(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            except OSError as exc:
                raise TransportError(f"cannot connect to gateway {self.host}:{self.port}: {exc}") from exc
        return self._sock

    def send(self, data: bytes) -> None:
        """Drop stale input, wait out the inter-request gap, then send."""
        sock = self._socket()
        self._drain(sock)
        wait = self._last_send + self.gap_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            sock.sendall(data)
        except OSError as exc:
            raise TransportError(f"send to gateway failed: {exc}") from exc
        self._last_send = time.monotonic()

    def wait_for(self, wanted: Callable[[BusToken], bool], deadline: float, what: str) -> BusToken:
        """The next token for which ``wanted`` is true; others are discarded. Raises on timeout."""
        while True:
            while self._queue:
                token = self._queue.popleft()
                if wanted(token):
                    return token
            self._receive(deadline, what)

    def _receive(self, deadline: float, what: str) -> None:
        sock = self._socket()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TransportError(f"no {what} within {self.timeout:g} s")
        sock.settimeout(remaining)
        try:
            data = sock.recv(RECV_SIZE)
        except TimeoutError:
            raise TransportError(f"no {what} within {self.timeout:g} s") from None
        except OSError as exc:
            raise TransportError(f"gateway connection failed: {exc}") from exc
        if not data:
            raise TransportError(f"gateway closed the connection while waiting for {what}")
        self._queue.extend(self.parser.feed(data, time.monotonic()))

    def drain(self) -> None:
        """Discard whatever arrived since the last exchange (it is stale now)."""
        self._drain(self._socket())

    def _drain(self, sock: socket.socket) -> None:
        """Discard bytes and tokens left over from an earlier exchange."""
        self._queue.clear()
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
        self.parser.reset()
