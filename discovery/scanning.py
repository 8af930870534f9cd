"""Which serial ports exist, their stable names, and whether another process holds them.

Ports come from pyserial's ``comports()`` plus configurable include globs (which can point
discovery at any device path, e.g. a pty), minus exclude globs. A port is named by its
``/dev/serial/by-id`` link when it has one: that name follows the USB adapter, not the
order the kernel enumerated it in (ttyUSB0 ↔ ttyUSB1 after a reboot).
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import serial
from serial.tools import list_ports

PortLister = Callable[[], list[str]]


@dataclass(frozen=True)
class SerialPort:
    """One port: the kernel device and the stable name discovery stores."""

    device: str  # the name it was listed under: /dev/ttyUSB0, a udev alias, a pty in tests
    path: str  # the /dev/serial/by-id link when there is one, else ``device``

    @property
    def key(self) -> str:
        """What two names of the same port share: the resolved kernel path."""
        return port_key(self.device)


class PortBusy(Exception):
    """Another process holds the port (pyserial could not take the exclusive lock)."""


def port_key(path: str) -> str:
    """Resolve links, so a by-id path and its kernel name compare equal."""
    return os.path.realpath(path)


def system_ports() -> list[str]:
    """The kernel serial devices pyserial finds (its links are folded in by :func:`list_ports_for`)."""
    return [info.device for info in list_ports.comports(include_links=True)]


def by_id_links(by_id_dir: str) -> dict[str, str]:
    """Resolved kernel path → by-id link, for every link in ``by_id_dir``."""
    links: dict[str, str] = {}
    for link in sorted(glob.glob(os.path.join(by_id_dir, "*"))):
        if os.path.islink(link):
            links.setdefault(port_key(link), link)
    return links


def _is_char_device(path: str) -> bool:
    """Only character devices are serial ports; a glob that matches a regular file is ignored."""
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def _excluded(port: SerialPort, exclude: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in exclude for name in (port.device, port.path))


def list_ports_for(include: Iterable[str] = (), exclude: Iterable[str] = (), *,
                   lister: PortLister | None = system_ports, by_id_dir: str = "/dev/serial/by-id"
                   ) -> list[SerialPort]:
    """The ports to consider, one entry per physical port, sorted by stable name.

    ``lister`` gives the system's ports (None: only the include globs). Links among them
    (pyserial lists by-id links too with ``include_links``) collapse into their port, named
    as first listed; an include glob may so name ports by a stable alias of its own.
    """
    names = list(lister() if lister is not None else [])
    for pattern in include:
        names.extend(sorted(glob.glob(pattern)))
    links = by_id_links(by_id_dir)
    ports: dict[str, SerialPort] = {}
    for name in names:
        key = port_key(name)
        if key in ports or not _is_char_device(key):
            continue
        ports[key] = SerialPort(device=name, path=links.get(key, name))
    kept = [p for p in ports.values() if not _excluded(p, exclude)]
    return sorted(kept, key=lambda p: p.path)


def check_not_busy(path: str) -> None:
    """Raise :class:`PortBusy` when another process holds ``path`` with an exclusive lock.

    pyserial's ``exclusive=True`` takes a ``flock``; it fails while another process (a running
    monitor, a modem manager, pymodbus, which locks by default) holds the port. The lock is
    let go at once: the drivers open the port themselves, and pymodbus locks it again.
    """
    try:
        handle = serial.Serial(path, exclusive=True, timeout=0)
    except serial.SerialException as exc:
        if "exclusively lock" in str(exc):
            raise PortBusy(f"{path} is held by another process") from exc
        raise PortBusy(f"cannot open {path}: {exc}") from exc
    handle.close()
