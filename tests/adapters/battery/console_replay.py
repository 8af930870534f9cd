"""A console on a pty that answers with recorded replies (real captures or fixtures)."""

from __future__ import annotations

import os
import select
import threading

from adapters.simulators.ptyport import PtyPort, open_pty
from tests.adapters.battery.support import PAGER


class ConsoleReplay:
    """Answers console commands on a pty with recorded replies, pausing at pager lines.

    A command without a recorded reply gets the console's ``Invalid command`` answer.
    """

    def __init__(self, replies: dict[str, bytes], prompt: bytes) -> None:
        self.replies = replies
        self.prompt = prompt
        self.commands: list[str] = []
        self.pty: PtyPort = open_pty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def path(self) -> str:
        return self.pty.path

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.pty.close()

    def _run(self) -> None:
        line = bytearray()
        pages: list[bytes] = []
        while not self._stop.is_set():
            if not select.select([self.pty.master_fd], [], [], 0.05)[0]:
                continue
            for byte in os.read(self.pty.master_fd, 1024):
                if byte != 0x0D:
                    if byte != 0x0A:
                        line.append(byte)
                    continue
                if pages:  # Enter at the pager: the next page
                    os.write(self.pty.master_fd, pages.pop(0))
                    continue
                command, line = line.decode(), bytearray()
                if not command:
                    os.write(self.pty.master_fd, b"\r\n" + self.prompt)
                    continue
                self.commands.append(command)
                pages = self._pages(self.replies.get(command) or self._invalid(command))
                os.write(self.pty.master_fd, pages.pop(0))

    def _invalid(self, command: str) -> bytes:
        """What a console prints for a command it does not know."""
        return (command.encode() + b"\r\n@\r\nInvalid command or fail to excute.\r\n$$\r\n\r\n"
                + self.prompt)

    @staticmethod
    def _pages(reply: bytes) -> list[bytes]:
        parts = reply.split(PAGER)
        return [part + PAGER for part in parts[:-1]] + [parts[-1]]
