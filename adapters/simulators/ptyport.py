"""A pseudo-terminal pair that stands in for a USB serial port.

The simulator owns the master side; drivers (and discovery) open the slave path with
real pyserial exactly as they would open /dev/ttyUSB0.
"""

from __future__ import annotations

import os
import tty
from dataclasses import dataclass


@dataclass
class PtyPort:
    """An open pty pair: ``master_fd`` for the simulator, ``path`` for the driver."""

    master_fd: int
    slave_fd: int
    path: str

    def close(self) -> None:
        for fd in (self.master_fd, self.slave_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def open_pty() -> PtyPort:
    """Open a raw pty pair (no echo, no line discipline), like a serial line."""
    master_fd, slave_fd = os.openpty()
    tty.setraw(master_fd)
    tty.setraw(slave_fd)
    return PtyPort(master_fd=master_fd, slave_fd=slave_fd, path=os.ttyname(slave_fd))
