"""JK-PB RS485 bus behind a transparent TCP gateway, on 127.0.0.1.

Answers FC16 frame triggers (frame + acknowledgement) and FC03 reads of the 0x1200 and
0x1400 blocks for each simulated address. As a bus master (``master_interval_s``) it
also broadcasts a master's polling to every connected client, for passive listeners, as
a real JK-PB master does: requests to every address 1-15 (most never answer), each
slave's frame and acknowledgement, then the master's own frames, each followed by an
acknowledgement carrying address 0. The master is then a battery unit of the pack too.
``master_device_info`` makes the master ask for device info every other cycle (real
masters never do).

``fault``: ``silence``, ``garbage``, ``truncated``, ``bad_checksum``, ``bad_ack``,
``disconnect`` (half a frame, then the connection is closed), ``master_frame`` (the
master's own frame passes on the bus right before each reply). ``absent`` addresses never
answer; ``absent_sensors`` are temperature sensors reported as not fitted.
"""

from __future__ import annotations

import argparse
import random
import socket
import struct
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from adapters.jkbms.codec import encode_cell_info, encode_device_info, seal_frame
from adapters.jkbms.frames import (
    CHECKSUM_AT,
    FRAME_LEN,
    TRIGGER_CELL_INFO,
    TRIGGER_DEVICE_INFO,
    TRIGGER_FRAME_TYPE,
    TRIGGER_SETTINGS,
    TYPE_SETTINGS,
    trigger_ack,
    trigger_request,
    with_crc,
)
from adapters.jkbms.layouts import (
    ABSENT_TEMPERATURE_RAW,
    FRAME_HEADER_LEN,
    LAYOUT_32S,
    REGISTER_INFO_BASE,
    REGISTER_LIVE_BASE,
    TEMP_SENSOR_BITS,
)
from adapters.jkbms_tcpip.attribution import MASTER_ADDRESS
from adapters.jkbms_tcpip.bus import BusParser, BusToken
from adapters.simulators.battery import LOW_CELL_DROP_MV, SimUnit, battery_units, run_until_signal
from adapters.simulators.plant import Plant

BUS_GAP_S = 0.005  # quiet time between messages the simulated master puts on the bus


def jk_values(unit: SimUnit, *, absent: Iterable[str] = (), layout: str = "32s") -> dict[str, float]:
    """The cell-info fields of one simulated unit, in frame units (V, A, °C, Ah).

    Sensors named in ``absent`` are reported as real firmware does for a sensor that is
    not fitted: the -200.0 °C placeholder and a cleared bit in the presence mask.
    """
    mv = unit.cells_mv
    fitted = [name for name in TEMP_SENSOR_BITS if layout == "32s" or TEMP_SENSOR_BITS[name] < 3]
    missing = set(absent)
    values = {
        "total_voltage": unit.voltage_v, "current": round(unit.current_a, 3),
        "power": round(abs(unit.power_w), 3),
        "temp1": unit.temperature_c - 0.5, "temp2": unit.temperature_c + 0.5,
        "mos_temp": unit.temperature_c + 3.0, "temp3": unit.temperature_c, "temp4": unit.temperature_c,
        "temp5": unit.temperature_c,
        "soc": round(unit.soc), "remaining_ah": round(unit.capacity_ah * unit.soc / 100, 3),
        "nominal_ah": unit.capacity_ah, "cycles": unit.cycles,
        "cycle_capacity_ah": unit.cycles * unit.capacity_ah, "soh": 100, "runtime_s": 86400,
        "charge_mos": 1, "discharge_mos": 1, "errors": 0, "balance_current": 0, "balancing": 0,
        "cell_avg": round(sum(mv) / len(mv) / 1000, 3), "cell_delta": (max(mv) - min(mv)) / 1000,
        "cell_max_index": mv.index(max(mv)), "cell_min_index": mv.index(min(mv)),
        "temp_sensors": sum(1 << TEMP_SENSOR_BITS[n] for n in fitted if n not in missing),
    }
    for name in missing:
        values[name] = ABSENT_TEMPERATURE_RAW / 10
    return values


def jk_device_info(serial: str, hardware: str, vendor: str, name: str) -> dict[str, Any]:
    """The device-info fields of one simulated BMS."""
    return {"vendor": vendor, "hardware_version": hardware, "software_version": "15.38",
            "device_name": name, "manufacturing_date": "240115", "serial_number": serial,
            "uptime_s": 86400, "power_on_count": 3}


class JkGatewaySimulator:
    """JK-PB units at ``addresses`` on a simulated bus, reached through a TCP socket."""

    def __init__(self, plant: Plant | None = None, *, addresses: Iterable[int] = (1,),
                 cells_per_battery: int = 16, host: str = "127.0.0.1", port: int = 0,
                 serials: dict[int, str] | None = None, absent: Iterable[int] = (),
                 capacity_ah: float = 280.0, low_cell: tuple[int, int] | None = None,
                 master_interval_s: float | None = None, master_device_info: bool = False,
                 absent_sensors: Iterable[str] = ()) -> None:
        self.plant = plant or Plant()
        self.addresses = list(addresses)
        self.cells = cells_per_battery
        self.host, self._port = host, port
        self.serials = serials or {a: f"4060A45{a:04d}" for a in range(16)}
        self.absent = set(absent)
        self.capacity_ah = capacity_ah
        self.low_cell = low_cell
        self.low_cell_drop_mv = LOW_CELL_DROP_MV
        self.master_interval_s = master_interval_s
        self.master_device_info = master_device_info
        self.absent_sensors = tuple(absent_sensors)
        self.fault: str | None = None
        self.requests: list[tuple[str, int, int]] = []  # (kind, address, register) received
        self._server: socket.socket | None = None
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._counter = 0
        self._rng = random.Random(11)

    # ---- lifecycle ------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return int(self._server.getsockname()[1])

    def start(self) -> JkGatewaySimulator:
        self._server = socket.create_server((self.host, self._port))
        self._server.settimeout(0.1)
        self._stop.clear()
        self._spawn(self._accept_loop, "jk-gw-accept")
        if self.master_interval_s:
            self._spawn(self._master_loop, "jk-gw-master")
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
        if self._server is not None:
            self._server.close()
            self._server = None

    def __enter__(self) -> JkGatewaySimulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # ---- device model ------------------------------------------------------------------
    @property
    def unit_addresses(self) -> list[int]:
        """Addresses with a battery unit: the slaves, and the master (0) when one polls the bus."""
        return ([MASTER_ADDRESS] if self.master_interval_s else []) + self.addresses

    def units(self) -> dict[int, SimUnit]:
        """The simulated units at the plant's now, by address."""
        present = [a for a in self.unit_addresses if a not in self.absent]
        units = battery_units(self.plant.state(), present, self.cells, serials=self.serials,
                              capacity_ah=self.capacity_ah, low_cell=self.low_cell,
                              low_cell_drop_mv=self.low_cell_drop_mv)
        return {u.index: u for u in units}

    def frame(self, address: int, register: int) -> bytes:
        """The frame unit ``address`` sends for a trigger of ``register``."""
        self._counter += 1
        if TRIGGER_FRAME_TYPE[register] == 0x03:
            return encode_device_info(jk_device_info(self.serials[address], "15A", "JK_PB2A16S20P",
                                                     f"JK-PB-{address}"), self._counter)
        unit = self.units().get(address) or self._other_pack_unit(address)
        if TRIGGER_FRAME_TYPE[register] == 0x01:  # settings: not simulated beyond a valid frame
            return seal_frame(bytearray(FRAME_LEN), TYPE_SETTINGS, self._counter)
        return encode_cell_info(jk_values(unit, absent=self.absent_sensors), unit.cells_mv, LAYOUT_32S,
                                self._counter)

    def _other_pack_unit(self, address: int) -> SimUnit:
        """A unit outside the simulated pack (a master whose frames pass on the bus)."""
        return battery_units(self.plant.state(), [address], self.cells, serials=self.serials,
                             capacity_ah=self.capacity_ah, low_cell=self.low_cell)[0]

    def registers(self, address: int, start: int, count: int) -> bytes | None:
        """FC03 data for ``count`` words at ``start``, or None for an address outside the blocks."""
        unit = self.units()[address]
        live = encode_cell_info(jk_values(unit, absent=self.absent_sensors), unit.cells_mv, LAYOUT_32S,
                                byteorder=">")
        info = encode_device_info(jk_device_info(self.serials[address], "15A", "JK_PB2A16S20P",
                                                 f"JK-PB-{address}"))
        for base, image in ((REGISTER_LIVE_BASE, live), (REGISTER_INFO_BASE, info)):
            offset = start - base + FRAME_HEADER_LEN
            if FRAME_HEADER_LEN <= offset and offset + 2 * count <= len(image) - 1:
                return image[offset:offset + 2 * count]
        return None

    # ---- serving ------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            client.settimeout(0.1)
            with self._lock:
                self._clients.append(client)
            self._spawn(self._client_loop, "jk-gw-client", client)

    def _client_loop(self, client: socket.socket) -> None:
        parser = BusParser()
        while not self._stop.is_set():
            try:
                data = client.recv(1024)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            for token in parser.feed(data):
                reply = self._answer(token)
                if reply and not self._send(client, reply):
                    break
        self._drop(client)

    def _answer(self, token: BusToken) -> bytes:
        """The bytes the bus carries back for one request (empty: silence)."""
        if token.kind not in ("trigger", "read_request"):
            return b""
        self.requests.append((token.kind, token.address, token.register))
        if token.address not in self.addresses or token.address in self.absent:
            return b""
        if token.kind == "trigger":
            if token.register not in TRIGGER_FRAME_TYPE:
                return with_crc(bytes([token.address, 0x90, 0x02]))
            reply = self._faulty(self.frame(token.address, token.register),
                                 trigger_ack(token.address, token.register))
            if self.fault == "master_frame":  # the master's own data goes out first
                reply = self.frame(MASTER_ADDRESS, TRIGGER_CELL_INFO) + \
                    trigger_ack(MASTER_ADDRESS, TRIGGER_CELL_INFO) + reply
            return reply
        count = struct.unpack(">H", token.data)[0]
        data = self.registers(token.address, token.register, count)
        if data is None:
            return with_crc(bytes([token.address, 0x83, 0x02]))
        reply = with_crc(bytes([token.address, 0x03, len(data)]) + data)
        return self._faulty(reply, b"")

    def _faulty(self, payload: bytes, ack: bytes) -> bytes:
        fault = self.fault
        if fault == "silence":
            return b""
        if fault == "garbage":
            return bytes(self._rng.randrange(256) for _ in range(len(payload)))
        if fault in ("truncated", "disconnect"):
            return payload[: len(payload) // 2]
        if fault == "bad_checksum":  # the frame's sum byte, or the CRC of an FC03 reply
            at = CHECKSUM_AT if ack else len(payload) - 1
            return payload[:at] + bytes([payload[at] ^ 0xFF]) + payload[at + 1:] + ack
        if fault == "bad_ack" and ack:
            return payload + ack[:-1] + bytes([ack[-1] ^ 0xFF])
        return payload + ack

    def _send(self, client: socket.socket, data: bytes) -> bool:
        try:
            client.sendall(data)
        except OSError:
            return False
        if self.fault == "disconnect":
            return False
        return True

    def _drop(self, client: socket.socket) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        client.close()

    # ---- bus master ----------------------------------------------------------------------
    def _master_loop(self) -> None:
        cycle = 0
        interval = self.master_interval_s or 1.0
        while not self._stop.wait(interval if cycle else 0.0):
            asks_info = self.master_device_info and cycle % 2 == 0
            registers = [TRIGGER_CELL_INFO] + ([TRIGGER_DEVICE_INFO] if asks_info else [])
            for address in range(1, 16):
                answers = address in self.addresses and address not in self.absent and self.fault != "silence"
                for register in registers if answers else [TRIGGER_CELL_INFO]:
                    self._broadcast(trigger_request(address, register))
                    if answers:
                        self._broadcast(self._faulty(self.frame(address, register),
                                                     trigger_ack(address, register)))
            # The master's own data: its frames, each followed by an acknowledgement from address 0.
            for register in (TRIGGER_CELL_INFO, TRIGGER_SETTINGS):
                self._broadcast(self.frame(MASTER_ADDRESS, register) + trigger_ack(MASTER_ADDRESS, register))
            cycle += 1

    def _broadcast(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            try:
                client.sendall(data)
            except OSError:
                self._drop(client)
        time.sleep(BUS_GAP_S)


def main(adapter_type: str, argv: list[str]) -> int:
    """``simulate jkbms_tcpip --tcp PORT --addresses 1,2 [--master SECONDS]``."""
    parser = argparse.ArgumentParser(prog=f"simulate {adapter_type}")
    parser.add_argument("--tcp", type=int, default=5022, help="TCP port on 127.0.0.1")
    parser.add_argument("--addresses", default="1", help="comma-separated RS485 addresses")
    parser.add_argument("--cells", type=int, default=16)
    parser.add_argument("--master", type=float, default=None,
                        help="also act as bus master (address 0), polling every SECONDS (for passive mode)")
    parser.add_argument("--absent-sensors", default="",
                        help="comma-separated temperature sensors reported as not fitted (temp1..temp5)")
    args = parser.parse_args(argv)
    addresses = [int(a) for a in args.addresses.split(",") if a.strip()]
    absent = [s.strip() for s in args.absent_sensors.split(",") if s.strip()]
    with JkGatewaySimulator(addresses=addresses, port=args.tcp, cells_per_battery=args.cells,
                            master_interval_s=args.master, absent_sensors=absent) as sim:
        print(f"JK-PB gateway on 127.0.0.1:{sim.port}, addresses {addresses}", flush=True)
        run_until_signal()
    return 0
