"""A Modbus TCP device on loopback that answers FC03 from a plain table of register words.

Written from the Modbus specification alone (MBAP header, or RTU framing with its CRC over
the TCP stream as a transparent gateway relays it; function 3; exception 2), with no part
of solarmon's register maps or simulators: the words in a test are the device. Registers
inside a requested block that the table leaves out read 0, as on a real device; a block
that reaches past ``last`` gets exception 02 (illegal data address).
"""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType


class WordServer:
    def __init__(self, words: dict[int, int], unit_id: int = 1, last: int = 0xFFFF,
                 framing: str = "mbap") -> None:
        self.words = words
        self.framing = framing
        self.unit_id = unit_id
        self.last = last
        self.requests: list[tuple[int, int]] = []  # (start, count) of every FC03 read
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._server.getsockname()[1])

    def __enter__(self) -> WordServer:
        self._spawn(self._accept)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._server.close()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            client.settimeout(0.1)
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        with client:
            buffer = b""
            while not self._stop.is_set():
                try:
                    data = client.recv(1024)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while len(buffer) >= (12 if self.framing == "mbap" else 8):
                    if self.framing == "mbap":  # MBAP (7) + function (1) + start (2) + count (2)
                        header = struct.unpack(">HHHBBHH", buffer[:12])
                        transaction, unit, function, start, count = header[0], *header[3:]
                        buffer = buffer[12:]
                        pdu = self._pdu(function, start, count)
                        client.sendall(struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu)
                    else:  # unit (1) + function (1) + start (2) + count (2) + CRC (2)
                        unit, function, start, count = struct.unpack(">BBHH", buffer[:6])
                        buffer = buffer[8:]
                        frame = bytes([unit]) + self._pdu(function, start, count)
                        client.sendall(frame + struct.pack("<H", _crc16(frame)))

    def _pdu(self, function: int, start: int, count: int) -> bytes:
        if function != 3:
            return bytes([function | 0x80, 1])
        if start + count - 1 > self.last:
            return bytes([0x83, 2])
        self.requests.append((start, count))
        values = [self.words.get(a, 0) for a in range(start, start + count)]
        return bytes([3, 2 * count]) + struct.pack(f">{count}H", *values)


def _crc16(data: bytes) -> int:
    """CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF), as the RTU framing specifies."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
