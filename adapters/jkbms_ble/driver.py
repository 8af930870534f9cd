"""JK-B BMS over BLE behind the synchronous driver interface.

bleak is asynchronous, so the driver owns one private event loop running in a daemon
thread; each call submits a coroutine to it and waits. A link that fails is dropped and
retried only after an exponential backoff, so a flaky BLE link does not stall every poll.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from adapters.base import Driver
from adapters.battery_checks import screen_units
from adapters.errors import TransportError
from adapters.jkbms.unit import unit_from_cell_info
from adapters.jkbms_ble.link import BleLink, ClientFactory, backoff_s
from adapters.readings import BatteryPackReading, DeviceIdentity, battery_pack_from_units

T = TypeVar("T")
BACKOFF_CAP_S = 300.0
DEFAULT_CLIENT_FACTORY: ClientFactory | None = None
"""Overrides ``bleak.BleakClient`` for every driver built without a factory (demo, tests)."""


def _bleak_client_factory() -> ClientFactory:
    if DEFAULT_CLIENT_FACTORY is not None:
        return DEFAULT_CLIENT_FACTORY
    from bleak import BleakClient

    return BleakClient


class JkbmsBleDriver(Driver):
    """A pack of JK-B BMSes, one per configured Bluetooth address."""

    adapter_type = "jkbms_ble"

    def __init__(self, config: Mapping[str, Any], *, client_factory: ClientFactory | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config)
        factory = client_factory or _bleak_client_factory()
        timeout = float(self.config.get("timeout", 10.0))
        layout = str(self.config.get("layout", "auto"))
        self.links = [BleLink(a, factory, timeout, layout) for a in self.config["bt_addresses"]]
        self.backoff_base_s = float(self.config.get("reconnect_backoff_s", 2.0))
        self.clock = clock
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ---- contract --------------------------------------------------------------------
    def identify(self) -> DeviceIdentity:
        """Serial number and vendor/model from the first BMS's device-info frame."""
        link = self.links[0]
        self._attempt(link, self._ensure_connected(link))
        info = link.device_info
        return DeviceIdentity(serial_number=str(info.get("serial_number", "")),
                              model=str(info.get("vendor", "")),
                              extra={"hardware_version": info.get("hardware_version", ""),
                                     "software_version": info.get("software_version", ""),
                                     "device_name": info.get("device_name", ""),
                                     "power_on_count": info.get("power_on_count"),
                                     "uptime_s": info.get("uptime_s"),
                                     "layout": link.layout.name if link.layout else ""})

    def read(self) -> BatteryPackReading:
        """One cell-info frame per address; fails when any battery of the pack cannot be read."""
        units, extras, errors = [], {}, []
        for index, link in enumerate(self.links, start=1):
            try:
                frame = self._attempt(link, link.cell_info())
            except TransportError as exc:
                errors.append(str(exc))
                continue
            layout = link.layout_of(frame)
            unit, extra = unit_from_cell_info(frame, layout, index,
                                              serial_number=link.device_info.get("serial_number") or None)
            units.append(unit)
            extras[index] = {**extra, "bt_address": link.address, "layout": layout.name,
                             "corrupt_frames": link.assembler.corrupt_frames}
        if errors:
            raise TransportError("; ".join(errors))
        flags = screen_units(units)
        return battery_pack_from_units(units, cycles=max(u.cycles or 0 for u in units),
                                       extra={"units": extras}, flags=flags)

    def close(self) -> None:
        """Disconnect every link and stop the private event loop."""
        if self._loop is None:
            return
        for link in self.links:
            try:
                self._submit(link.disconnect())
            except Exception:  # closing must not fail
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop.close()
        self._loop, self._thread = None, None

    # ---- backoff ---------------------------------------------------------------------
    def _attempt(self, link: BleLink, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` for ``link`` unless it is backing off; a failure extends the backoff."""
        now = self.clock()
        if now < link.retry_at:
            work.close()
            raise TransportError(f"{link.address}: reconnecting in {link.retry_at - now:.1f} s "
                                 f"after {link.failures} failures")
        try:
            result = self._submit(work)
        except TransportError:
            link.failures += 1
            cap = max(BACKOFF_CAP_S, self.backoff_base_s)
            link.retry_at = self.clock() + backoff_s(link.failures, self.backoff_base_s, cap)
            self._submit(link.disconnect())
            raise
        link.failures, link.retry_at = 0, 0.0
        return result

    async def _ensure_connected(self, link: BleLink) -> None:
        if not link.connected:
            await link.connect()

    # ---- private event loop ----------------------------------------------------------------
    def _submit(self, work: Coroutine[Any, Any, T]) -> T:
        loop = self._event_loop()
        future = asyncio.run_coroutine_threadsafe(work, loop)
        try:
            # Every awaited step has its own timeout; this outer bound only catches a stuck loop.
            return future.result(timeout=4 * self._timeout + 5)
        except TimeoutError:
            future.cancel()
            raise TransportError("BLE operation did not finish") from None

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="jkbms-ble-loop",
                                            daemon=True)
            self._thread.start()
        return self._loop
