"""One Modbus link per device: RTU on a serial port, Modbus TCP, or RTU framed over TCP.

Built on pymodbus 3.16's sync clients (``device_id=`` keyword). Retries are 0: a dead
device costs one timeout per poll, and the poller decides when to try again. The
connection is kept between polls; after any transport error the client is thrown away
and rebuilt on the next request, so a half-read reply never leaks into the next one.

Errors are mapped to the adapter error family with one-line causes:
timeouts, refused connections, bad CRC and garbage become :class:`TransportError`;
an exception reply becomes :class:`ModbusExceptionReply` (a :class:`DeviceError`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from adapters.errors import ConfigError, DeviceError, TransportError

EXCEPTION_NAMES = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value",
    4: "server device failure", 5: "acknowledge", 6: "server device busy",
    8: "memory parity error", 10: "gateway path unavailable", 11: "gateway target failed to respond",
}

# Library etiquette: pymodbus logs every timeout that this module already reports as an
# error; without a handler of its own, Python would print those lines to stderr.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())

Client = ModbusSerialClient | ModbusTcpClient
RangeFormatter = Callable[[int, int], str]


class ModbusExceptionReply(DeviceError):
    """The device answered a read with a Modbus exception code."""

    def __init__(self, code: int, where: str) -> None:
        name = EXCEPTION_NAMES.get(code, "unknown exception")
        super().__init__(f"exception reply {code:02d} ({name}) reading {where}")
        self.code = code


def _default_range(start: int, count: int) -> str:
    return f"{start}..{start + count - 1}"


class ModbusLink:
    """A reusable connection to one Modbus device, built from its adapter config."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.transport = str(config.get("transport", "rtu"))
        if self.transport not in ("rtu", "tcp", "rtu_over_tcp"):
            raise ConfigError(f"unknown Modbus transport {self.transport!r}")
        self.config = dict(config)
        self.timeout = float(config.get("timeout", 2.0))
        self.unit_id = int(config.get("unit_id", 1))
        self.transactions = 0
        self._client: Client | None = None
        self._rx_bytes = 0
        _check_target(self.transport, self.config)

    # ---- public -------------------------------------------------------------------
    def read_holding(self, start: int, count: int, fmt: RangeFormatter = _default_range) -> list[int]:
        """Read ``count`` holding registers from ``start`` (FC03)."""
        where = f"holding {fmt(start, count)}"
        client = self._connected_client()
        self.transactions += 1
        self._rx_bytes = 0
        try:
            reply = client.read_holding_registers(start, count=count, device_id=self.unit_id)
        except ConnectionException as exc:
            self._drop()
            raise TransportError(f"connection closed by the device reading {where}") from exc
        except (ModbusException, OSError) as exc:
            self._drop()
            raise TransportError(self._silence_message(where)) from exc
        if reply.isError():
            raise ModbusExceptionReply(int(getattr(reply, "exception_code", 0)), fmt(start, count))
        registers = list(reply.registers)
        if len(registers) != count:
            self._drop()
            raise TransportError(f"short reply ({len(registers)} of {count} registers) reading {where}")
        return registers

    def close(self) -> None:
        """Close the connection; the next read reopens it."""
        self._drop()

    def describe(self) -> str:
        """Where this link goes, for messages: ``tcp 127.0.0.1:502`` or ``rtu /dev/ttyUSB0``."""
        if self.transport == "rtu":
            return f"rtu {self.config.get('serial_port')}"
        return f"{self.transport} {self.config.get('host')}:{self.config.get('port', 502)}"

    # ---- internals ----------------------------------------------------------------
    def _silence_message(self, where: str) -> str:
        if self._rx_bytes:
            return f"garbled reply ({self._rx_bytes} bytes, bad CRC or framing) reading {where}"
        return f"timeout after {self.timeout:g} s reading {where}"

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self._rx_bytes = max(self._rx_bytes, len(data))
        return data

    def _connected_client(self) -> Client:
        if self._client is None:
            client = self._build_client()
            self._open(client)
            self._client = client
        return self._client

    def _build_client(self) -> Client:
        cfg = self.config
        if self.transport == "rtu":
            return ModbusSerialClient(
                str(cfg["serial_port"]), framer=FramerType.RTU, baudrate=int(cfg.get("baudrate", 9600)),
                bytesize=int(cfg.get("bytesize", 8)), parity=str(cfg.get("parity", "N")),
                stopbits=int(cfg.get("stopbits", 1)), timeout=self.timeout, retries=0,
                trace_packet=self._trace)
        framer = FramerType.SOCKET if self.transport == "tcp" else FramerType.RTU
        return ModbusTcpClient(str(cfg["host"]), port=int(cfg.get("port", 502)), framer=framer,
                               timeout=self.timeout, retries=0, trace_packet=self._trace)

    def _open(self, client: Client) -> None:
        if isinstance(client, ModbusTcpClient):
            # Connect ourselves so the error names its cause (pymodbus only logs it).
            host, port = str(self.config["host"]), int(self.config.get("port", 502))
            try:
                client.socket = socket.create_connection((host, port), timeout=self.timeout)
            except OSError as exc:
                raise TransportError(f"cannot connect to {host}:{port}: {_os_reason(exc)}") from exc
            return
        if not client.connect():
            path = str(self.config["serial_port"])
            reason = "no such device" if not os.path.exists(path) else "cannot open it (busy or no access)"
            raise TransportError(f"cannot open serial port {path}: {reason}")
        if client.socket is not None:
            client.socket.reset_input_buffer()  # drop bytes a previous session left behind

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None


def _check_target(transport: str, config: Mapping[str, Any]) -> None:
    if transport == "rtu" and not config.get("serial_port"):
        raise ConfigError("transport rtu needs serial_port")
    if transport != "rtu" and not config.get("host"):
        raise ConfigError(f"transport {transport} needs host")


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "connect timed out"
    return (exc.strerror or str(exc)).lower()

