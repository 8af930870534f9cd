"""A stand-in for bleak's ``BleakClient`` talking to simulated JK-B BMSes.

There is no Bluetooth radio here, so this is the one place the product fakes a
transport: :class:`FakeBleakClient` has the surface the driver uses (``connect``,
``is_connected``, ``start_notify``, ``write_gatt_char``, ``stop_notify``, ``disconnect``,
all async) and delivers real frames in real notification fragments (128+128+44), so
the driver's reassembly, checksum and reconnect code runs unchanged.

Simulated BMSes are registered by address in :data:`DEVICES` (or a registry passed to
the client). ``fault`` on a device: ``absent`` (out of range: connects fail, a live
link drops), ``silence``, ``garbage``, ``truncated`` (last fragment missing),
``bad_checksum``, ``disconnect`` (link drops after the first fragment).

Real quirks on demand: ``fragment`` sets the notification size (20 bytes on many
adapters, up to the MTU on others), ``preamble`` glues bytes such as ``AT\r\n`` before a
frame, ``absent_sensors`` reports temperature sensors as not fitted (presence bit clear,
value -200.0 °C). :class:`RecordedJkBms` replays frames a real BMS sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bleak.exc import BleakError

from adapters.jkbms.codec import encode_cell_info, encode_device_info, seal_frame
from adapters.jkbms.frames import (
    BLE_CMD_CELL_INFO,
    BLE_CMD_DEVICE_INFO,
    CHECKSUM_AT,
    FRAME_LEN,
    TYPE_SETTINGS,
)
from adapters.jkbms.layouts import LAYOUTS
from adapters.simulators.battery import battery_units, run_until_signal
from adapters.simulators.jkbms import jk_device_info, jk_values
from adapters.simulators.plant import Plant

FRAGMENT = 128  # bytes per notification, as JK modules send them
FRAGMENT_GAP_S = 0.002


class SimulatedBms(Protocol):
    """What :class:`FakeBleakClient` needs of a BMS behind it."""

    address: str
    fault: str | None
    connects: int
    fragment: int
    preamble: bytes
    gap_s: float

    def device_info_frame(self) -> bytes | None: ...

    def settings_frame(self) -> bytes | None: ...

    def cell_info_frame(self) -> bytes | None: ...


@dataclass
class FakeJkBms:
    """One simulated JK-B BMS: battery ``index`` of a pack whose units are ``pack``."""

    address: str
    plant: Plant
    index: int = 1
    pack: list[int] = field(default_factory=lambda: [1])
    layout: str = "32s"
    cells: int = 16
    serial_number: str = ""
    frame_len: int = 300  # some 32S firmware pads frames to 320 bytes
    capacity_ah: float = 280.0
    low_cell: tuple[int, int] | None = None
    fault: str | None = None
    connects: int = 0  # connection attempts seen, for reconnect tests
    fragment: int = FRAGMENT
    preamble: bytes = b""
    gap_s: float = FRAGMENT_GAP_S
    absent_sensors: tuple[str, ...] = ()

    def device_info_frame(self) -> bytes:
        hardware = "11.XW" if self.layout == "32s" else "10.XW"
        info = jk_device_info(self.serial_number or f"BLE{self.index:08d}", hardware,
                              f"JK_B2A{self.cells}S15P", f"JK-B-{self.index}")
        return self._pad(encode_device_info(info))

    def cell_info_frame(self) -> bytes:
        units = battery_units(self.plant.state(), self.pack, self.cells,
                              serials={i: "" for i in self.pack}, capacity_ah=self.capacity_ah,
                              low_cell=self.low_cell)
        unit = next(u for u in units if u.index == self.index)
        values = jk_values(unit, absent=self.absent_sensors, layout=self.layout)
        return self._pad(encode_cell_info(values, unit.cells_mv, LAYOUTS[self.layout]))

    def settings_frame(self) -> bytes:
        return self._pad(seal_frame(bytearray(FRAME_LEN), TYPE_SETTINGS))

    def _pad(self, frame: bytes) -> bytes:
        return frame + bytes(self.frame_len - len(frame))


@dataclass
class RecordedJkBms:
    """A BMS that answers with frames a real one sent (device info, settings, cell info).

    ``None`` for a frame means the BMS sends nothing for that request. Cell-info frames
    are played in turn, one per request, starting again after the last.
    """

    address: str
    cell_frames: list[bytes]
    device_info: bytes | None = None
    settings: bytes | None = None
    fragment: int = FRAGMENT
    preamble: bytes = b""
    gap_s: float = FRAGMENT_GAP_S
    fault: str | None = None
    connects: int = 0
    _next: int = 0

    def device_info_frame(self) -> bytes | None:
        return self.device_info

    def settings_frame(self) -> bytes | None:
        return self.settings

    def cell_info_frame(self) -> bytes | None:
        if not self.cell_frames:
            return None
        frame = self.cell_frames[self._next % len(self.cell_frames)]
        self._next += 1
        return frame


DEVICES: dict[str, SimulatedBms] = {}
"""The simulated BMSes the default :class:`FakeBleakClient` can reach, by address."""


def fake_pack(plant: Plant, addresses: Iterable[str], *, layout: str = "32s", cells: int = 16,
              registry: dict[str, SimulatedBms] | None = None, **kwargs: Any) -> list[FakeJkBms]:
    """Register one simulated BMS per address, together forming one pack."""
    addresses = list(addresses)
    pack = list(range(1, len(addresses) + 1))
    devices = [FakeJkBms(address=a, plant=plant, index=i, pack=pack, layout=layout, cells=cells,
                         serial_number=f"BLE{i:04d}{a[-5:].replace(':', '')}", **kwargs)
               for i, a in zip(pack, addresses, strict=True)]
    target = DEVICES if registry is None else registry
    for device in devices:
        target[device.address] = device
    return devices


class FakeBleakClient:
    """What the driver sees of ``bleak.BleakClient``, backed by a :class:`FakeJkBms`."""

    def __init__(self, address_or_ble_device: Any, disconnected_callback: Callable[[Any], None] | None = None,
                 *, timeout: float = 10.0, registry: dict[str, SimulatedBms] | None = None,
                 **_kwargs: Any) -> None:
        self.address = str(getattr(address_or_ble_device, "address", address_or_ble_device))
        self._disconnected_callback = disconnected_callback
        self._registry = DEVICES if registry is None else registry
        self._connected = False
        self._callback: Callable[[Any, bytearray], None] | None = None
        self._rng = random.Random(5)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def is_connected(self) -> bool:
        return self._connected

    def _device(self) -> SimulatedBms:
        device = self._registry.get(self.address)
        if device is None:
            raise BleakError(f"Device with address {self.address} was not found.")
        return device

    async def connect(self, **_kwargs: Any) -> bool:
        await asyncio.sleep(0)
        device = self._device()
        device.connects += 1
        if device.fault == "absent":
            raise BleakError(f"Device with address {self.address} was not found.")
        self._connected = True
        return True

    async def disconnect(self) -> bool:
        self._connected = False
        for task in list(self._tasks):
            task.cancel()
        return True

    async def start_notify(self, _char: Any, callback: Callable[[Any, bytearray], None], **_kw: Any) -> None:
        self._require_connected()
        self._callback = callback

    async def stop_notify(self, _char: Any) -> None:
        self._callback = None

    async def write_gatt_char(self, _char: Any, data: bytes | bytearray,
                              response: bool | None = None) -> None:
        self._require_connected()
        if len(data) != 20 or data[:4] != b"\xaa\x55\x90\xeb" or sum(data[:19]) & 0xFF != data[19]:
            return  # the BMS ignores malformed commands
        device = self._device()
        if device.fault == "absent":  # out of range: the link is lost
            self._drop()
            raise BleakError("Not connected")
        if data[4] == BLE_CMD_DEVICE_INFO:
            replies = [device.device_info_frame()]
        elif data[4] == BLE_CMD_CELL_INFO:
            replies = [device.settings_frame(), device.cell_info_frame()]
        else:
            return
        frames = [f for f in replies if f is not None]
        task = asyncio.get_running_loop().create_task(self._deliver(device, frames))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def __aenter__(self) -> FakeBleakClient:
        await self.connect()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.disconnect()

    def _require_connected(self) -> None:
        if not self._connected:
            raise BleakError("Not connected")

    async def _deliver(self, device: SimulatedBms, frames: list[bytes]) -> None:
        fault = device.fault
        if fault == "silence":
            return
        for frame in frames:
            if fault == "bad_checksum":
                frame = frame[:CHECKSUM_AT] + bytes([frame[CHECKSUM_AT] ^ 0xFF]) + frame[CHECKSUM_AT + 1:]
            elif fault == "garbage":
                frame = bytes(self._rng.randrange(256) for _ in frame)
            frame = device.preamble + frame
            fragments = [frame[i:i + device.fragment] for i in range(0, len(frame), device.fragment)]
            if fault == "truncated":
                fragments = fragments[:-1]
            for n, fragment in enumerate(fragments):
                await asyncio.sleep(device.gap_s)
                if not self._connected or self._callback is None:
                    return
                self._callback(None, bytearray(fragment))
                if fault == "disconnect" and n == 0:
                    self._drop()
                    return

    def _drop(self) -> None:
        self._connected = False
        if self._disconnected_callback is not None:
            self._disconnected_callback(self)


def main(adapter_type: str, argv: list[str]) -> int:
    """BLE needs no simulator process: a driver reaches :class:`FakeBleakClient` in-process.

    This runs a self-contained demo instead: a two-battery pack of simulated BMSes read
    by the real driver every few seconds, until SIGINT/SIGTERM.
    """
    parser = argparse.ArgumentParser(prog=f"simulate {adapter_type}")
    parser.add_argument("--addresses", default="C8:47:80:00:00:01,C8:47:80:00:00:02")
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="32s")
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    from adapters.jkbms_ble.driver import JkbmsBleDriver

    addresses = args.addresses.split(",")
    fake_pack(Plant(), addresses, layout=args.layout)
    print("BLE simulation runs in-process (FakeBleakClient stands in for bleak); "
          f"reading {addresses} every {args.interval:g} s", flush=True)
    driver = JkbmsBleDriver({"bt_addresses": addresses, "timeout": 2.0}, client_factory=FakeBleakClient)
    stop = threading.Event()
    reader = threading.Thread(target=_demo_loop, args=(driver, args.interval, stop), daemon=True)
    reader.start()
    try:
        run_until_signal()
    finally:
        stop.set()
        reader.join(timeout=args.interval + 5)
        driver.close()
    return 0


def _demo_loop(driver: Any, interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        reading = driver.read()
        print(json.dumps({"voltage": reading.voltage, "current": reading.current, "power": reading.power,
                          "soc": reading.soc, "batteries": reading.batteries_count}), flush=True)
        stop.wait(interval)
