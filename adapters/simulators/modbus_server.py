"""A small Modbus server for the simulators: MBAP over TCP, RTU over TCP, RTU on a pty.

Why not pymodbus's server: the simulators must misbehave on demand at the byte level
(no reply, corrupted CRC, garbage, dropped connections, slow replies) and count every
byte on the wire, and their registers are computed from the plant at request time.
pymodbus 3.16's server datastore holds stored values (its ModbusDeviceContext API is
deprecated in favour of SimData), and its asyncio transport hides the bytes. So this
module frames requests itself (RTU CRC from pymodbus's own framer) and answers FC03/FC04
from a callback. One thread serves every endpoint of one simulator through a selector,
so a simulator costs one thread however many clients connect and reconnect.
"""

from __future__ import annotations

import heapq
import itertools
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pymodbus.framer.rtu import FramerRTU

from adapters.simulators.ptyport import PtyPort, open_pty

Framing = Literal["mbap", "rtu"]
RegisterSource = Callable[[int, int], "list[int] | int"]  # (start, count) → words or exception code
GARBAGE = bytes([0x00, 0xFF] * 8)  # no valid function code anywhere: a client can only time out
ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE, GATEWAY_NO_RESPONSE = 1, 2, 3, 11


@dataclass
class WireStats:
    """What went over the wire: request frames seen and bytes each way."""

    transactions: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    def reset(self) -> None:
        self.transactions = self.bytes_in = self.bytes_out = 0


@dataclass
class Faults:
    """Misbehaviour switched on at runtime. ``remaining`` limits how many requests it hits.

    ``exception_ranges`` (inclusive) limits exception replies to requests touching them;
    empty means every request. ``bad_crc`` corrupts RTU frames (on MBAP it sends garbage).
    ``drop`` closes a TCP connection on the request (on a pty it is a missing reply).
    """

    no_reply: bool = False
    exception_code: int | None = None
    exception_ranges: list[tuple[int, int]] = field(default_factory=list)
    bad_crc: bool = False
    garbage: bool = False
    drop: bool = False
    delay_s: float = 0.0
    remaining: int | None = None

    def hits(self, start: int, count: int) -> bool:
        """Whether the exception fault applies to a read of ``count`` registers at ``start``."""
        if self.exception_code is None:
            return False
        end = start + count - 1
        return not self.exception_ranges or any(a <= end and start <= b for a, b in self.exception_ranges)


@dataclass
class _Conn:
    framing: Framing
    sock: socket.socket | None = None
    fd: int | None = None
    buffer: bytearray = field(default_factory=bytearray)
    closed: bool = False

    def fileno(self) -> int:
        return self.sock.fileno() if self.sock is not None else int(self.fd or 0)

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            if self.sock is not None:
                self.sock.sendall(data)
            elif self.fd is not None:
                os.write(self.fd, data)
        except OSError:
            self.closed = True


class ModbusWireServer:
    """Serves one device (one unit id) on any number of endpoints from one thread."""

    def __init__(self, source: RegisterSource, *, unit_id: int = 1) -> None:
        self.source = source
        self.unit_id = unit_id
        self.stats = WireStats()
        self.faults = Faults()
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._listeners: list[socket.socket] = []
        self._ptys: list[PtyPort] = []
        self._pending: list[tuple[float, int, _Conn, bytes]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ---- endpoints ----------------------------------------------------------------
    def listen_tcp(self, port: int = 0, framing: Framing = "mbap", host: str = "127.0.0.1") -> int:
        """Listen on ``host:port`` (0 = any free port); returns the port."""
        listener = socket.create_server((host, port), reuse_port=False)
        listener.setblocking(False)
        self._listeners.append(listener)
        self._selector.register(listener, selectors.EVENT_READ, ("listen", framing))
        return int(listener.getsockname()[1])

    def open_pty(self) -> str:
        """Serve RTU on a new pty pair; returns the path a driver opens."""
        pty = open_pty()
        os.set_blocking(pty.master_fd, False)
        self._ptys.append(pty)
        conn = _Conn("rtu", fd=pty.master_fd)
        self._selector.register(pty.master_fd, selectors.EVENT_READ, ("conn", conn))
        return pty.path

    # ---- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="modbus-sim", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop serving and close every endpoint; stopping twice is harmless."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._selector.get_map() is None:  # already closed
            return
        for key in list(self._selector.get_map().values()):
            kind, obj = key.data
            if kind == "conn" and obj.sock is not None:
                obj.sock.close()
        for listener in self._listeners:
            listener.close()
        for pty in self._ptys:
            pty.close()
        self._listeners.clear()
        self._ptys.clear()
        self._selector.close()

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults

    # ---- loop ---------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            wait = 0.05
            if self._pending:
                wait = max(0.0, min(wait, self._pending[0][0] - time.monotonic()))
            for key, _ in self._selector.select(wait):
                kind, obj = key.data
                if kind == "listen":
                    self._accept(key.fileobj, obj)  # type: ignore[arg-type]
                else:
                    self._receive(obj)
            self._flush_due()

    def _accept(self, listener: socket.socket, framing: Framing) -> None:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(framing, sock=sock)
        self._selector.register(sock, selectors.EVENT_READ, ("conn", conn))

    def _receive(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(4096) if conn.sock is not None else os.read(conn.fileno(), 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            if conn.sock is not None:  # a pty master never reaches end of file while we hold the slave
                self._close(conn)
            return
        self.stats.bytes_in += len(data)
        conn.buffer += data
        extract = _next_mbap if conn.framing == "mbap" else _next_rtu
        while not conn.closed and (request := extract(conn.buffer)) is not None:
            self._answer(conn, *request)

    def _close(self, conn: _Conn) -> None:
        conn.closed = True
        if conn.sock is not None:
            try:
                self._selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
            conn.sock.close()

    def _flush_due(self) -> None:
        now = time.monotonic()
        while self._pending and self._pending[0][0] <= now:
            _, _, conn, data = heapq.heappop(self._pending)
            self._send(conn, data)

    def _send(self, conn: _Conn, data: bytes) -> None:
        self.stats.bytes_out += len(data)
        conn.send(data)
        if conn.closed and conn.sock is not None:
            self._close(conn)

    # ---- one request --------------------------------------------------------------
    def _answer(self, conn: _Conn, unit: int, tid: int, pdu: bytes) -> None:
        self.stats.transactions += 1
        with self._lock:
            faults = self.faults
            fired = self._apply_faults(conn, faults, pdu)
        if fired == "silent":
            return
        reply = self._reply_pdu(conn, unit, pdu, faults if fired == "exception" else None)
        if reply is None:
            return
        frame = _frame(conn.framing, unit, tid, reply)
        if fired == "corrupt":
            frame = GARBAGE if conn.framing == "mbap" or faults.garbage else _bad_crc(frame)
        if faults.delay_s > 0 and fired == "delay":
            heapq.heappush(self._pending, (time.monotonic() + faults.delay_s, next(self._seq), conn, frame))
            return
        self._send(conn, frame)

    def _apply_faults(self, conn: _Conn, faults: Faults, pdu: bytes) -> str:
        """Decide what this request suffers; counts down ``remaining``."""
        start, count = _read_range(pdu)
        if faults.remaining is not None and faults.remaining <= 0:
            return ""
        outcome = ""
        if faults.drop:
            outcome = "silent"
            if conn.sock is not None:
                self._close(conn)
        elif faults.no_reply:
            outcome = "silent"
        elif faults.hits(start, count):
            outcome = "exception"
        elif faults.garbage or faults.bad_crc:
            outcome = "corrupt"
        elif faults.delay_s > 0:
            outcome = "delay"
        if outcome and faults.remaining is not None:
            faults.remaining -= 1
        return outcome

    def _reply_pdu(self, conn: _Conn, unit: int, pdu: bytes, faults: Faults | None) -> bytes | None:
        if unit != self.unit_id:
            # On a bus another device would answer; a TCP gateway reports the missing target.
            return bytes([pdu[0] | 0x80, GATEWAY_NO_RESPONSE]) if conn.framing == "mbap" else None
        function = pdu[0]
        if faults is not None and faults.exception_code is not None:
            return bytes([function | 0x80, faults.exception_code])
        if function not in (3, 4) or len(pdu) != 5:
            return bytes([function | 0x80, ILLEGAL_FUNCTION])
        start, count = _read_range(pdu)
        if not 1 <= count <= 125:
            return bytes([function | 0x80, ILLEGAL_VALUE])
        words = self.source(start, count)
        if isinstance(words, int):
            return bytes([function | 0x80, words])
        return bytes([function, 2 * count]) + b"".join(w.to_bytes(2, "big") for w in words)


def _read_range(pdu: bytes) -> tuple[int, int]:
    if len(pdu) < 5:
        return 0, 0
    return int.from_bytes(pdu[1:3], "big"), int.from_bytes(pdu[3:5], "big")


def _next_mbap(buffer: bytearray) -> tuple[int, int, bytes] | None:
    """Take one MBAP request off ``buffer``: (unit, transaction id, pdu)."""
    if len(buffer) < 8:
        return None
    length = int.from_bytes(buffer[4:6], "big")
    if not 2 <= length <= 254:
        buffer.clear()  # not Modbus TCP: drop it, as a device would
        return None
    if len(buffer) < 6 + length:
        return None
    frame = bytes(buffer[: 6 + length])
    del buffer[: 6 + length]
    return frame[6], int.from_bytes(frame[0:2], "big"), frame[7:]


def _next_rtu(buffer: bytearray) -> tuple[int, int, bytes] | None:
    """Take one 8-byte RTU request off ``buffer``, resynchronizing past bad bytes."""
    while len(buffer) >= 8:
        frame = bytes(buffer[:8])
        if FramerRTU.check_CRC(frame[:6], int.from_bytes(frame[6:8], "big")):
            del buffer[:8]
            return frame[0], 0, frame[1:6]
        del buffer[:1]
    return None


def _frame(framing: Framing, unit: int, tid: int, pdu: bytes) -> bytes:
    if framing == "mbap":
        return tid.to_bytes(2, "big") + b"\x00\x00" + (len(pdu) + 1).to_bytes(2, "big") + bytes([unit]) + pdu
    body = bytes([unit]) + pdu
    return body + FramerRTU.compute_CRC(body).to_bytes(2, "big")


def _bad_crc(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 0xFF])
