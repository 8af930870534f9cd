"""One BLE connection to one JK BMS: connect, subscribe, request a frame, await it.

Everything here runs inside the driver's private event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from adapters.errors import ImplausibleReading, TransportError, WrongDevice
from adapters.jkbms.codec import (
    decode_device_info,
    detect_layout,
    is_jk04_cell_info,
    layout_fits,
    layout_for_hardware,
)
from adapters.jkbms.frames import (
    BLE_CMD_CELL_INFO,
    BLE_CMD_DEVICE_INFO,
    TYPE_CELL_INFO,
    TYPE_DEVICE_INFO,
    FrameAssembler,
    ble_command,
)
from adapters.jkbms.layouts import LAYOUTS, CellInfoLayout

CHARACTERISTIC = "0000ffe1-0000-1000-8000-00805f9b34fb"  # in service 0xFFE0
ClientFactory = Callable[..., Any]
"""Builds a bleak-like client: ``factory(address, disconnected_callback=..., timeout=...)``."""


class BleLink:
    """The connection to the BMS at ``address`` and the frames it has sent."""

    def __init__(self, address: str, factory: ClientFactory, timeout: float, layout: str) -> None:
        self.address = address
        self.factory = factory
        self.timeout = timeout
        self.layout_setting = layout
        self.assembler = FrameAssembler()
        self.client: Any = None
        self.device_info: dict[str, Any] = {}
        self.layout: CellInfoLayout | None = None
        self.failures = 0
        self.retry_at = 0.0
        self._waiters: dict[int, asyncio.Future[bytes]] = {}

    @property
    def connected(self) -> bool:
        return self.client is not None and bool(self.client.is_connected)

    async def connect(self) -> None:
        """Connect, subscribe to FFE1, fetch the device info (if it comes) and a first layout guess."""
        await self.disconnect()
        self.assembler.reset()
        self.client = self.factory(self.address, disconnected_callback=self._on_disconnect,
                                   timeout=self.timeout)
        await self._guard(self.client.connect(), "connect")
        await self._guard(self.client.start_notify(CHARACTERISTIC, self._on_notify), "subscribe")
        try:
            frame = await self.request(BLE_CMD_DEVICE_INFO, TYPE_DEVICE_INFO)
        except TransportError:
            if not self.connected:
                raise
            # The frame was lost or never sent: the cell-info frames still tell the layout, and
            # the identity stays unknown rather than the link unusable.
            self.device_info = {}
        else:
            self.device_info = decode_device_info(frame)
        self.layout = (LAYOUTS[self.layout_setting] if self.layout_setting in LAYOUTS
                       else layout_for_hardware(str(self.device_info.get("hardware_version", ""))))

    def layout_of(self, frame: bytes) -> CellInfoLayout:
        """The layout ``frame`` is read in: the configured one, else the one its content fits.

        The hardware version only hints (a "3.0" may be JK02_24S or JK04); the frame itself
        decides. A JK04 frame (float32 cells, an older protocol) is refused: one error naming
        the BMS and the cause.
        """
        configured = LAYOUTS.get(self.layout_setting)
        if configured is not None and layout_fits(frame, configured):
            return configured
        detected = None if configured is not None else detect_layout(frame, hint=self.layout)
        if detected is not None:
            self.layout = detected
            return detected
        if is_jk04_cell_info(frame):
            raise WrongDevice(f"{self.describe()} sends JK04 cell-info frames (float32 cell voltages, "
                              "an older protocol); the jkbms_ble adapter reads JK02 (24S/32S) BMSes only")
        wanted = f"the configured {configured.name} layout" if configured else "the 24S or the 32S layout"
        raise ImplausibleReading(f"{self.describe()}: cell-info frame does not decode in {wanted} "
                                 "(cells or total voltage outside physical ranges)")

    def describe(self) -> str:
        """``JK-B2A16S (hw 3.0, sw 3.3.0) at C8:47:…``: the BMS as its device-info frame names it."""
        info = self.device_info
        name = str(info.get("vendor") or "JK BMS")
        versions = ", ".join(f"{k} {info[v]}" for k, v in (("hw", "hardware_version"),
                                                            ("sw", "software_version")) if info.get(v))
        return f"{name}{f' ({versions})' if versions else ''} at {self.address}"

    async def cell_info(self) -> bytes:
        """Ask for cell info (0x96) and return the next cell-info frame."""
        if not self.connected:
            await self.connect()
        return await self.request(BLE_CMD_CELL_INFO, TYPE_CELL_INFO)

    async def request(self, command: int, frame_type: int) -> bytes:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bytes] = loop.create_future()
        self._waiters[frame_type] = waiter
        try:
            await self._guard(self.client.write_gatt_char(CHARACTERISTIC, ble_command(command),
                                                          response=False), "write")
            return await asyncio.wait_for(waiter, self.timeout)
        except TimeoutError:
            raise TransportError(f"{self.address}: no frame 0x{frame_type:02x} within "
                                 f"{self.timeout:g} s") from None
        finally:
            self._waiters.pop(frame_type, None)

    async def disconnect(self) -> None:
        client, self.client = self.client, None
        for waiter in self._waiters.values():
            waiter.cancel()
        if client is not None and client.is_connected:
            try:
                await asyncio.wait_for(client.disconnect(), self.timeout)
            except Exception:  # a failed disconnect leaves nothing to clean up
                pass

    def _on_notify(self, _characteristic: Any, data: bytearray) -> None:
        for frame in self.assembler.feed_fragment(bytes(data)):
            waiter = self._waiters.get(frame[4])
            if waiter is not None and not waiter.done():
                waiter.set_result(frame)

    def _on_disconnect(self, _client: Any) -> None:
        # The link dropped (possibly mid-frame): fail the pending request now, not at timeout.
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(TransportError(f"{self.address}: BLE link dropped"))

    async def _guard(self, operation: Any, what: str) -> Any:
        try:
            return await asyncio.wait_for(operation, self.timeout)
        except TransportError:
            raise
        except Exception as exc:  # bleak raises BleakError, OSError, TimeoutError...
            raise TransportError(f"{self.address}: BLE {what} failed: {exc or type(exc).__name__}") from exc


def backoff_s(failures: int, base: float, cap: float) -> float:
    """Seconds to wait after ``failures`` consecutive failures: base, 2·base, 4·base… up to cap."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2 ** (failures - 1))
