"""JK-PB packs behind a transparent RS485-to-TCP gateway: trigger, register or passive mode.

Each configured address is one battery unit of the pack. ``trigger`` sends the FC16
frame triggers and receives the 300-byte JK02_32S frame and the FC16 acknowledgement;
``registers`` reads the same data with FC03 at 0x1200 (byte-offset addressing);
``passive`` sends nothing and attributes the frames of another master's polling.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from adapters.base import Driver
from adapters.errors import AdapterError, DeviceError, ImplausibleReading, TransportError
from adapters.jkbms.codec import decode_device_info
from adapters.jkbms.frames import (
    FRAME_LEN,
    TRIGGER_CELL_INFO,
    TRIGGER_DEVICE_INFO,
    TRIGGER_FRAME_TYPE,
    read_registers_request,
    trigger_request,
)
from adapters.jkbms.layouts import FRAME_HEADER_LEN, LAYOUT_32S, REGISTER_INFO_BASE, REGISTER_LIVE_BASE
from adapters.jkbms.unit import unit_from_cell_info
from adapters.jkbms_tcpip.bus import BusToken
from adapters.jkbms_tcpip.link import GatewayLink
from adapters.readings import (
    BatteryPackReading,
    BatteryUnitReading,
    DeviceIdentity,
    battery_pack_from_units,
    battery_plausibility_problems,
)

T = TypeVar("T")

# FC03 blocks (start, words): the live block in two reads of at most 64 words (bsc_fw notes
# that about 123 words fit in one read), and the device-info block up to the serial number.
LIVE_BLOCKS = ((REGISTER_LIVE_BASE, 64), (REGISTER_LIVE_BASE + 0x80, 64))
INFO_BLOCK = (REGISTER_INFO_BASE, 56)


class JkbmsTcpDriver(Driver):
    """One pack of JK-PB units (addresses) on an RS485 bus reached through a TCP gateway."""

    adapter_type = "jkbms_tcpip"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.mode = str(self.config.get("mode", "trigger"))
        self.addresses: list[int] = list(self.config.get("addresses")
                                         or range(1, int(self.config.get("batteries", 1)) + 1))
        self.timeout = float(self.config.get("timeout", 3.0))
        self.window_s = int(self.config.get("passive_window_ms", 500)) / 1000
        self.link = GatewayLink(str(self.config["host"]), int(self.config.get("port", 5022)),
                                self.timeout, int(self.config.get("request_gap_ms", 120)) / 1000)
        self.unattributed_frames = 0  # passive mode: frames without a matching request
        self._rejected = 0  # frames dropped for a bad or missing acknowledgement
        self._info: dict[int, dict[str, Any]] = {}

    @property
    def corrupt_frames(self) -> int:
        """Frames dropped as corrupt (bad checksum, truncated, bad acknowledgement)."""
        return self.link.parser.corrupt_frames + self._rejected

    # ---- contract --------------------------------------------------------------------
    def identify(self) -> DeviceIdentity:
        """Serial number and vendor/model of the first address's device-info frame."""
        info = self._guard(lambda: self._device_info(self.addresses[0]))
        if not info.get("serial_number"):
            raise DeviceError(f"address {self.addresses[0]}: device info has no serial number")
        return DeviceIdentity(serial_number=info["serial_number"], model=info.get("vendor", ""),
                              extra={k: info[k] for k in ("hardware_version", "software_version",
                                                          "device_name") if k in info})

    def read(self) -> BatteryPackReading:
        """One cell-info exchange per address; the pack totals follow from the units."""
        return self._guard(self._read)

    def close(self) -> None:
        self.link.close()

    # ---- reading ---------------------------------------------------------------------
    def _read(self) -> BatteryPackReading:
        if self.mode == "passive":
            frames = self._passive_frames(TRIGGER_CELL_INFO)
            images = [(a, frames[a], "<") for a in self.addresses]
        else:
            images = [(a, self._cell_image(a), "<" if self.mode == "trigger" else ">")
                      for a in self.addresses]
        units: list[BatteryUnitReading] = []
        extras: dict[int, dict[str, Any]] = {}
        for address, image, order in images:
            serial = self._info.get(address, {}).get("serial_number")
            unit, extra = unit_from_cell_info(image, LAYOUT_32S, address, byteorder=order,
                                              serial_number=serial)
            units.append(unit)
            extras[address] = extra
        pack = battery_pack_from_units(units, cycles=max(u.cycles or 0 for u in units),
                                       extra={"units": extras, "corrupt_frames": self.corrupt_frames})
        problems = battery_plausibility_problems(pack)
        if problems:
            raise ImplausibleReading("; ".join(problems))
        return pack

    def _cell_image(self, address: int) -> bytes:
        if self.mode == "trigger":
            return self._trigger(address, TRIGGER_CELL_INFO)
        data = b"".join(self._read_registers(address, start, count) for start, count in LIVE_BLOCKS)
        return _as_frame_image(data)

    def _device_info(self, address: int) -> dict[str, Any]:
        if address not in self._info:
            if self.mode == "trigger":
                info = decode_device_info(self._trigger(address, TRIGGER_DEVICE_INFO))
            elif self.mode == "registers":
                info = decode_device_info(_as_frame_image(self._read_registers(address, *INFO_BLOCK)), ">")
            else:
                info = decode_device_info(self._passive_frames(TRIGGER_DEVICE_INFO, [address])[address])
            self._info[address] = info
        return self._info[address]

    # ---- exchanges -------------------------------------------------------------------
    def _trigger(self, address: int, register: int) -> bytes:
        """Send one FC16 trigger; return its frame once the acknowledgement has arrived."""
        self.link.send(trigger_request(address, register))
        deadline = time.monotonic() + self.timeout
        token = self.link.wait_for(lambda t: t.kind in ("frame", "exception"), deadline,
                                   f"frame from address {address}")
        if token.kind == "exception":
            raise DeviceError(f"address {address}: Modbus exception {token.data[0]:#04x}")
        if token.data[4] != TRIGGER_FRAME_TYPE[register]:
            self._rejected += 1
            raise TransportError(f"address {address}: frame type {token.data[4]:#04x}, "
                                 f"expected {TRIGGER_FRAME_TYPE[register]:#04x}")
        try:
            self.link.wait_for(lambda t: t.kind == "ack" and t.address == address
                               and t.register == register, deadline,
                               f"acknowledgement from address {address}")
        except TransportError:
            self._rejected += 1  # without a valid acknowledgement the frame is not trusted
            raise
        return token.data

    def _read_registers(self, address: int, start: int, count: int) -> bytes:
        self.link.send(read_registers_request(address, start, count))
        token = self.link.wait_for(lambda t: t.kind in ("read_reply", "exception") and t.address == address,
                                   time.monotonic() + self.timeout, f"FC03 reply from address {address}")
        if token.kind == "exception":
            raise DeviceError(f"address {address}: Modbus exception {token.data[0]:#04x} "
                              f"reading {start:#06x}")
        if len(token.data) != 2 * count:
            raise TransportError(f"address {address}: {len(token.data)} bytes for {count} registers")
        return token.data

    def _passive_frames(self, register: int, addresses: list[int] | None = None) -> dict[int, bytes]:
        """Listen to another master until each address's frame of this kind has been seen."""
        wanted = set(addresses or self.addresses)
        found: dict[int, bytes] = {}
        last: list[BusToken] = []  # the most recent trigger request
        self.link.drain()  # bytes buffered since the last poll are old news
        deadline = time.monotonic() + self.timeout

        def attribute(token: BusToken) -> bool:
            if token.kind == "trigger":
                last[:] = [token]
            elif token.kind == "frame":
                request = last.pop() if last else None
                if (request is None or token.at - request.at > self.window_s
                        or TRIGGER_FRAME_TYPE.get(request.register) != token.data[4]):
                    self.unattributed_frames += 1  # nobody asked for it, or too late: unsafe to use
                elif request.register == register and request.address in wanted:
                    found[request.address] = token.data
            return wanted <= found.keys()

        while not wanted <= found.keys():
            try:
                self.link.wait_for(attribute, deadline, "frame")
            except TransportError as exc:
                missing = ", ".join(str(a) for a in sorted(wanted - found.keys()))
                raise TransportError(f"passive: no frame for address {missing} ({exc})") from None
        return found

    def _guard(self, work: Callable[[], T]) -> T:
        """Run ``work``; after any failure drop the connection so the next call starts clean."""
        try:
            return work()
        except AdapterError:
            self.link.close()
            raise


def _as_frame_image(data: bytes) -> bytes:
    """Register bytes placed where the same fields sit in a frame (header left blank)."""
    image = bytes(FRAME_HEADER_LEN) + data
    return image + bytes(max(0, FRAME_LEN - len(image)))
