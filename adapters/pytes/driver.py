"""Pytes / Pylontech console driver: ``pwr`` for all units, ``bat N`` per unit, ``info N`` once per unit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import serial

from adapters.base import Driver
from adapters.battery_checks import screen_units
from adapters.errors import AdapterError, DeviceError, TransportError, WrongDevice
from adapters.pytes.columns import EMPTY
from adapters.pytes.console import ConsoleSession
from adapters.pytes.parsing import parse_key_values, parse_table
from adapters.pytes.scope import describe, is_high_voltage_pwr, refuse_high_voltage
from adapters.pytes.units import cells_from_rows, is_absent, unit_from_row
from adapters.readings import BatteryPackReading, BatteryUnitReading, DeviceIdentity, battery_pack_from_units

READ_TIMEOUT_S = 0.05  # pyserial's per-read wait; the session enforces the per-command timeout


class PytesDriver(Driver):
    """One pack of Pytes / Pylontech units behind one console port.

    Each unit's ``info N`` (its own capacity, barcode and model) is read once per
    connection: a stack may mix models (a US5000 with US2000s behind it), so no unit's
    capacity is taken from another's.
    """

    adapter_type = "pytes"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self._port: serial.Serial | None = None
        self._session: ConsoleSession | None = None
        self._identity: DeviceIdentity | None = None
        self._infos: dict[int, dict[str, str]] = {}

    # ---- contract ------------------------------------------------------------------
    def identify(self) -> DeviceIdentity:
        """Barcode and device name of unit 1 (``info 1``), cached for the connection's life."""
        if self._identity is None:
            info = self._unit_info(1)
            barcode = info.get("Barcode", "")
            if not barcode or barcode == EMPTY:
                raise DeviceError("`info 1` reply has no Barcode")
            self._identity = DeviceIdentity(
                serial_number=barcode,
                model=info.get("Device name", ""),
                extra={"manufacturer": info.get("Manufacturer", ""),
                       "firmware": info.get("Main Soft version") or info.get("Soft version", ""),
                       "specification": info.get("Specification", ""),
                       "cell_number": info.get("Cell Number", ""),
                       "prompt": self._session.prompt if self._session else ""},
            )
        return self._identity

    def read(self) -> BatteryPackReading:
        """One ``pwr`` for every unit, then ``bat N`` for the cells of each present unit."""
        body = self._run("pwr")
        if is_high_voltage_pwr(body):
            raise WrongDevice(self._high_voltage_message())
        rows = parse_table(body, "Power")
        flags: list[str] = []
        unreadable = [r for r in rows if r.index is None]
        for row in unreadable:
            flags.append(f"`pwr`: row without a readable unit number skipped: {row.line!r}")
        absent = sorted(int(r.index or 0) for r in rows if r.index is not None and is_absent(r))
        present = [r for r in rows if r.index is not None and not is_absent(r)]
        if not present:
            raise DeviceError(f"no battery unit present ({len(absent)} rows Absent)")
        units, unit_extras = [], {}
        for row in present:
            unit, extra = unit_from_row(row, flags)
            self._complete_unit(unit, extra, flags)
            units.append(unit)
            unit_extras[unit.index] = extra
        flags += screen_units(units)
        configured = int(self.config.get("batteries", 1))
        pack = battery_pack_from_units(units, flags=flags, extra={
            "absent_units": [i for i in absent if i <= configured],
            "absent_count": len(absent),
            "configured_batteries": configured,
            "units": unit_extras,
        })
        if unreadable:  # a unit we cannot name may still carry current: the sums would be short
            pack.current = pack.power = None
            flags.append("pack current and power unknown: a `pwr` row could not be read")
        return pack

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None
                self._session = None
                self._infos.clear()

    # ---- units and cells -------------------------------------------------------------
    def _complete_unit(self, unit: BatteryUnitReading, extra: dict[str, Any], flags: list[str]) -> None:
        """Capacity, barcode and model from the unit's own ``info N``; then its cells."""
        info = self._unit_info(unit.index, flags)
        unit.capacity_ah = _capacity_ah(info) or _positive(self.config.get("capacity_ah"))
        if unit.serial_number is None and info.get("Barcode", EMPTY) != EMPTY:
            unit.serial_number = info["Barcode"]
        if info.get("Device name"):
            extra.setdefault("model", info["Device name"])
        rows = parse_table(self._run(f"bat {unit.index}"), "Battery")
        unit.cells = cells_from_rows(rows, unit.index, flags)

    def _unit_info(self, index: int, flags: list[str] | None = None) -> dict[str, str]:
        """``info N`` as key/value pairs, once per connection; a high-voltage system is refused.

        Unit 1 falls back to a bare ``info`` (consoles of one device reject ``info 1``). For
        other units a refused ``info N`` leaves that unit's capacity unknown (flagged once).
        """
        if index not in self._infos:
            info: dict[str, str] | None
            try:
                info = parse_key_values(self._run(f"info {index}"))
            except DeviceError as exc:
                info = self._bare_info() if index == 1 else None
                if info is None:
                    if flags is None:
                        raise
                    flags.append(f"unit {index}: `info {index}` failed ({exc}): its capacity is unknown")
                    info = {}
            refuse_high_voltage(info)
            self._infos[index] = info
        return self._infos[index]

    def _bare_info(self) -> dict[str, str] | None:
        try:
            return parse_key_values(self._run("info"))
        except DeviceError:
            return None

    def _high_voltage_message(self) -> str:
        try:
            name = describe(parse_key_values(self._run("info")))
        except AdapterError:
            name = f"the console at {self.config.get('serial_port')}"
        return (f"{name} is a high-voltage battery system (`pwr` prints one series stack, not a table "
                "of parallel units); the pytes adapter reads low-voltage Pytes/Pylontech packs only")

    # ---- transport -----------------------------------------------------------------
    def _run(self, command: str) -> list[str]:
        """Run one console command; a transport failure closes the port so the next call reopens it."""
        try:
            return self._open().command(command)
        except TransportError:
            self.close()
            raise

    def _open(self) -> ConsoleSession:
        if self._session is None:
            try:
                self._port = serial.Serial(
                    self.config["serial_port"], baudrate=int(self.config.get("baudrate", 115200)),
                    bytesize=int(self.config.get("bytesize", 8)), parity=self.config.get("parity", "N"),
                    stopbits=int(self.config.get("stopbits", 1)), timeout=READ_TIMEOUT_S,
                    write_timeout=float(self.config.get("timeout", 3.0)))
            except (serial.SerialException, OSError, ValueError) as exc:
                raise TransportError(f"cannot open {self.config.get('serial_port')}: {exc}") from exc
            session = ConsoleSession(self._port, float(self.config.get("timeout", 3.0)))
            try:
                session.wake()
            except AdapterError:
                self.close()
                raise
            self._session = session
        return self._session


def _capacity_ah(info: dict[str, str]) -> float | None:
    """The capacity an ``info`` reply states (``Specification : 48V/100AH`` → 100.0)."""
    match = re.search(r"(\d+(?:\.\d+)?)\s*AH", info.get("Specification", ""), re.IGNORECASE)
    return float(match.group(1)) if match else None


def _positive(value: Any) -> float | None:
    return float(value) if value else None
