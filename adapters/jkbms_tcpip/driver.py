"""JK-PB packs on their RS485 bus (TCP gateway or USB adapter): trigger, register or passive mode.

Each configured address is one battery unit of the pack. ``trigger`` sends the FC16
frame triggers and receives the 300-byte JK02_32S frame and the FC16 acknowledgement;
``registers`` reads the same data with FC03 at 0x1200 (byte-offset addressing);
``passive`` sends nothing and reads the frames of another master's polling, including
the master's own (address 0). In every mode a frame belongs to an address only when the
acknowledgement right behind it names that address (see :mod:`.attribution`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from adapters.base import Driver
from adapters.battery_checks import screen_units
from adapters.errors import AdapterError, ConfigError, DeviceError, TransportError
from adapters.jkbms.codec import decode_device_info, decode_fields
from adapters.jkbms.frames import (
    FRAME_LEN,
    TRIGGER_CELL_INFO,
    TRIGGER_DEVICE_INFO,
    TRIGGER_SETTINGS,
    read_registers_request,
    trigger_request,
)
from adapters.jkbms.layouts import (
    FRAME_HEADER_LEN,
    LAYOUT_32S,
    REGISTER_INFO_BASE,
    REGISTER_LIVE_BASE,
    SETTINGS_32S,
)
from adapters.jkbms.unit import unit_from_cell_info
from adapters.jkbms_tcpip.attribution import MASTER_ADDRESS, AttributedFrame, FrameAttributor
from adapters.jkbms_tcpip.bus import BusToken
from adapters.jkbms_tcpip.link import BusLink, GatewayLink, SerialBusLink
from adapters.readings import BatteryPackReading, BatteryUnitReading, DeviceIdentity, battery_pack_from_units

T = TypeVar("T")

# FC03 blocks (start, words): the live block in two reads of at most 64 words (bsc_fw notes
# that about 123 words fit in one read), and the device-info block up to the serial number.
LIVE_BLOCKS = ((REGISTER_LIVE_BASE, 64), (REGISTER_LIVE_BASE + 0x80, 64))
INFO_BLOCK = (REGISTER_INFO_BASE, 56)
UNKNOWN_IDENTITY = "unknown: no device-info frame passed on the bus"


def link_for(config: Mapping[str, Any]) -> BusLink:
    """The serial link when ``serial_port`` is set, else the TCP gateway link."""
    timeout = float(config.get("timeout", 3.0))
    gap_s = int(config.get("request_gap_ms", 120)) / 1000
    if config.get("serial_port"):
        return SerialBusLink(str(config["serial_port"]), int(config.get("baudrate", 115200)), timeout, gap_s)
    return GatewayLink(str(config["host"]), int(config.get("port", 5022)), timeout, gap_s)


class JkbmsTcpDriver(Driver):
    """One pack of JK-PB units (addresses) on one RS485 bus."""

    adapter_type = "jkbms_tcpip"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.mode = str(self.config.get("mode", "trigger"))
        self.addresses: list[int] = list(self.config.get("addresses")
                                         or range(1, int(self.config.get("batteries", 1)) + 1))
        if self.mode != "passive" and MASTER_ADDRESS in self.addresses:
            raise ConfigError("address 0 is the bus master, which answers no requests: read it in "
                              "passive mode")
        self.timeout = float(self.config.get("timeout", 3.0))
        self.link = link_for(self.config)
        self.attributor = FrameAttributor()
        self._rejected = 0  # frames dropped for a bad or missing acknowledgement
        self._info: dict[int, dict[str, Any]] = {}
        self._settings: dict[int, dict[str, Any]] = {}  # settings frames heard (passive mode)

    @property
    def corrupt_frames(self) -> int:
        """Frames dropped as corrupt (bad checksum, truncated, bad acknowledgement)."""
        return self.link.parser.corrupt_frames + self._rejected

    @property
    def unattributed_frames(self) -> int:
        """Frames seen with no acknowledgement proving their sender (never used)."""
        return self.attributor.unattributed

    # ---- contract --------------------------------------------------------------------
    def identify(self) -> DeviceIdentity:
        """Serial number and vendor/model of the first address's device-info frame.

        A passive listener cannot ask for device info: when none passes on the bus within
        the timeout, the identity is what the bus carries (cell count, capacity, the
        addresses heard, the settings frame if one passed) with the serial number unknown
        (empty).
        """
        if self.mode == "passive":
            return self._guard(self._passive_identity)
        info = self._guard(lambda: self._device_info(self.addresses[0]))
        if not info.get("serial_number"):
            raise DeviceError(f"address {self.addresses[0]}: device info has no serial number")
        return _identity(info)

    def read(self) -> BatteryPackReading:
        """One cell-info exchange per address; the pack totals follow from the units."""
        return self._guard(self._read)

    def close(self) -> None:
        self.link.close()

    # ---- reading ---------------------------------------------------------------------
    def _read(self) -> BatteryPackReading:
        if self.mode == "passive":
            frames = self._listen(TRIGGER_CELL_INFO, set(self.addresses))
            images = [(a, frames[a], "<") for a in self.addresses]
        else:
            images = [(a, self._cell_image(a), "<" if self.mode == "trigger" else ">")
                      for a in self.addresses]
        units: list[BatteryUnitReading] = []
        extras: dict[int, dict[str, Any]] = {}
        for address, image, order in images:
            serial = self._info.get(address, {}).get("serial_number") or None
            unit, extra = unit_from_cell_info(image, LAYOUT_32S, address, byteorder=order,
                                              serial_number=serial)
            units.append(unit)
            extras[address] = extra
        flags = screen_units(units)
        return battery_pack_from_units(units, cycles=max(u.cycles or 0 for u in units), flags=flags,
                                       extra={"units": extras, "corrupt_frames": self.corrupt_frames,
                                              "unattributed_frames": self.unattributed_frames})

    def _cell_image(self, address: int) -> bytes:
        if self.mode == "trigger":
            return self._trigger(address, TRIGGER_CELL_INFO)
        data = b"".join(self._read_registers(address, start, count) for start, count in LIVE_BLOCKS)
        return _as_frame_image(data)

    def _device_info(self, address: int) -> dict[str, Any]:
        if address not in self._info:
            if self.mode == "trigger":
                info = decode_device_info(self._trigger(address, TRIGGER_DEVICE_INFO))
            else:
                info = decode_device_info(_as_frame_image(self._read_registers(address, *INFO_BLOCK)), ">")
            self._info[address] = info
        return self._info[address]

    # ---- exchanges -------------------------------------------------------------------
    def _trigger(self, address: int, register: int) -> bytes:
        """Send one FC16 trigger; return the frame its acknowledgement proves came from ``address``."""
        self.link.send(trigger_request(address, register))
        self.attributor.reset()
        before = self.unattributed_frames
        found: list[AttributedFrame] = []

        def answered(token: BusToken) -> bool:
            if token.kind == "exception" and token.address == address:
                return True
            frame = self.attributor.feed(token)
            if frame is not None and frame.address == address and frame.register == register:
                found.append(frame)
                return True
            return False

        try:
            token = self.link.wait_for(answered, time.monotonic() + self.timeout,
                                       f"frame from address {address}")
        except TransportError as exc:
            if self.unattributed_frames > before:
                self._rejected += 1  # a frame came, but nothing proves it is this address's
                raise TransportError(f"address {address}: frame without a valid acknowledgement "
                                     f"({exc})") from None
            raise
        if not found:
            raise DeviceError(f"address {address}: Modbus exception {token.data[0]:#04x}")
        return found[0].frame

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

    # ---- passive listening -------------------------------------------------------------
    def _listen(self, register: int, wanted: set[int]) -> dict[int, bytes]:
        """Listen to another master until each wanted address's frame of this kind has passed.

        Device-info frames that pass meanwhile are kept: they name the units.
        """
        found: dict[int, bytes] = {}

        def take(frame: AttributedFrame) -> bool:
            if frame.register == register and frame.address in wanted:
                found[frame.address] = frame.frame
            return wanted <= found.keys()

        try:
            self._hear(take)
        except TransportError as exc:
            missing = ", ".join(str(a) for a in sorted(wanted - found.keys()))
            raise TransportError(f"passive: no frame for address {missing} ({exc})") from None
        return found

    def _passive_identity(self) -> DeviceIdentity:
        first = self.addresses[0]
        heard: dict[int, bytes] = {}

        def take(frame: AttributedFrame) -> bool:
            if frame.register == TRIGGER_CELL_INFO:
                heard[frame.address] = frame.frame
            return first in self._info

        try:
            self._hear(take)
        except TransportError as exc:
            if first not in heard:
                raise TransportError(f"passive: no frame for address {first} ({exc})") from None
        info = self._info.get(first)
        if info is not None and (info.get("serial_number") or first not in heard):
            return _identity(info)
        return _bus_identity(first, heard[first], sorted(heard.keys() | self._info.keys()),
                             self._settings.get(first))

    def _hear(self, take: Callable[[AttributedFrame], bool]) -> None:
        """Feed every attributed frame to ``take`` until it returns True or the timeout passes."""
        self.link.drain()  # bytes buffered since the last poll are old news
        self.attributor.reset()

        def attributed(token: BusToken) -> bool:
            frame = self.attributor.feed(token)
            if frame is None:
                return False
            if frame.register == TRIGGER_DEVICE_INFO:
                self._info[frame.address] = decode_device_info(frame.frame)
            elif frame.register == TRIGGER_SETTINGS:
                self._settings[frame.address] = decode_fields(frame.frame, SETTINGS_32S)
            return take(frame)

        self.link.wait_for(attributed, time.monotonic() + self.timeout, "frame")

    def _guard(self, work: Callable[[], T]) -> T:
        """Run ``work``; after any failure drop the connection so the next call starts clean."""
        try:
            return work()
        except AdapterError:
            self.link.close()
            raise


def _identity(info: dict[str, Any]) -> DeviceIdentity:
    return DeviceIdentity(serial_number=info["serial_number"], model=info.get("vendor", ""),
                          extra={k: info[k] for k in ("hardware_version", "software_version",
                                                      "device_name") if k in info})


def _bus_identity(address: int, cell_frame: bytes, heard: list[int],
                  settings: dict[str, Any] | None) -> DeviceIdentity:
    """What a bus without device-info frames says about ``address``: no serial number."""
    values = decode_fields(cell_frame, LAYOUT_32S.fields)
    cells = bin(int(values.get("cell_mask", 0))).count("1")
    capacity = values.get("nominal_ah", 0)
    extra: dict[str, Any] = {"address": address, "identity": UNKNOWN_IDENTITY, "addresses_on_bus": heard}
    if settings:
        extra["settings"] = settings
    return DeviceIdentity(serial_number="", model=f"JK-PB BMS ({cells} cells, {capacity:g} Ah)", extra=extra)


def _as_frame_image(data: bytes) -> bytes:
    """Register bytes placed where the same fields sit in a frame (header left blank)."""
    image = bytes(FRAME_HEADER_LEN) + data
    return image + bytes(max(0, FRAME_LEN - len(image)))
