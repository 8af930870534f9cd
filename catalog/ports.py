"""Serial ports to offer in an adapter's form: this machine's, and those discovery has seen.

Ports are named by their ``/dev/serial/by-id`` link where there is one, since that name
follows the USB adapter while ttyUSB numbers change between boots; the label adds the USB
vendor and model so identical-looking links can be told apart.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from serial.tools import list_ports

BY_ID_DIR = "/dev/serial/by-id"


@dataclass(frozen=True)
class PortChoice:
    """One port to suggest: the path to store, and what to show next to it."""

    path: str
    label: str
    source: str  # "this machine" or "discovery"


PortSource = Callable[[], list[PortChoice]]


def _by_id_names(by_id_dir: str) -> dict[str, str]:
    """Kernel device path → its by-id link."""
    return {os.path.realpath(link): link for link in sorted(glob.glob(os.path.join(by_id_dir, "*")))}


def local_ports(by_id_dir: str = BY_ID_DIR) -> list[PortChoice]:
    """The serial ports of this machine (pyserial), by their stable names."""
    by_id = _by_id_names(by_id_dir)
    choices = []
    for info in list_ports.comports():
        path = by_id.get(os.path.realpath(info.device), info.device)
        usb = " ".join(part for part in (info.manufacturer, info.product) if part)
        ids = f"{info.vid:04x}:{info.pid:04x}" if info.vid is not None and info.pid is not None else ""
        description = "" if info.description in (None, "", "n/a") else info.description
        kernel = info.device if path != info.device else ""  # the ttyUSB name behind a by-id link
        details = ", ".join(part for part in (usb or description, ids, kernel) if part) or "serial port"
        choices.append(PortChoice(path, details, "this machine"))
    return sorted(choices, key=lambda c: c.path)


# Other apps add theirs (solarmon.apps wires discovery's in); catalog imports none of them.
PORT_SOURCES: list[PortSource] = [local_ports]


def port_choices(sources: Iterable[PortSource] | None = None) -> list[PortChoice]:
    """Every suggested port once, this machine's first; a failing source is left out."""
    seen: dict[str, PortChoice] = {}
    for source in PORT_SOURCES if sources is None else sources:
        try:
            found = source()
        except Exception:  # a suggestion list must never break the form
            continue
        for choice in found:
            seen.setdefault(choice.path, choice)
    return list(seen.values())
