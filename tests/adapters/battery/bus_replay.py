"""A transparent RS485 gateway on loopback that replays recorded bus bytes.

``bursts`` are played to every client in turn, again and again (a bus master repeats its
polling), ``gap_s`` apart; ``answers`` maps a request the client sends to the bytes the
bus carried back. Nothing here knows the JK protocol: it only moves recorded bytes.
"""

from __future__ import annotations

import select
import socket
import threading
from types import TracebackType


class BusReplay:
    def __init__(self, bursts: list[bytes] = (), answers: dict[bytes, bytes] | None = None,  # type: ignore[assignment]
                 gap_s: float = 0.002) -> None:
        self.bursts = list(bursts)
        self.answers = answers or {}
        self.gap_s = gap_s
        self.received: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._server.getsockname()[1])

    def __enter__(self) -> BusReplay:
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
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        with client:
            turn = 0
            while not self._stop.is_set():
                try:
                    if select.select([client], [], [], self.gap_s)[0]:
                        request = client.recv(1024)
                        if not request:
                            return
                        self.received.append(request)
                        client.sendall(self.answers.get(request, b""))
                    if self.bursts:
                        client.sendall(self.bursts[turn % len(self.bursts)])
                        turn += 1
                except OSError:
                    return
