"""Pytes / Pylontech console driver: ``pwr`` for all units, ``bat N`` per unit, ``info 1`` once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import serial

from adapters.base import Driver
from adapters.errors import AdapterError, DeviceError, ImplausibleReading, TransportError
from adapters.pytes.columns import (
    ABSENT,
    BAT_COLUMNS,
    BAT_SOC_FALLBACK,
    EMPTY,
    PWR_COLUMNS,
    PWR_EXTRA,
    Converter,
    percent,
)
from adapters.pytes.console import ConsoleSession
from adapters.pytes.parsing import parse_key_values, parse_table
from adapters.readings import (
    BatteryPackReading,
    BatteryUnitReading,
    CellReading,
    DeviceIdentity,
    battery_pack_from_units,
    battery_plausibility_problems,
)

READ_TIMEOUT_S = 0.05  # pyserial's per-read wait; the session enforces the per-command timeout


class PytesDriver(Driver):
    """One pack of Pytes / Pylontech units behind one console port."""

    adapter_type = "pytes"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self._port: serial.Serial | None = None
        self._session: ConsoleSession | None = None
        self._identity: DeviceIdentity | None = None

    # ---- contract ------------------------------------------------------------------
    def identify(self) -> DeviceIdentity:
        """Barcode and device name of unit 1 (``info 1``), cached for the connection's life."""
        if self._identity is None:
            info = parse_key_values(self._run("info 1"))
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
        rows = parse_table(self._run("pwr"), "Power")
        present = [r for r in rows if r.get("Base.St") != ABSENT and ABSENT not in r.get("_raw", "")]
        absent = sorted(int(r["Power"]) for r in rows if r not in present)
        if not present:
            raise DeviceError(f"no battery unit present ({len(absent)} rows Absent)")
        units, unit_extras = [], {}
        for row in present:
            unit, extra = self._unit(row)
            units.append(unit)
            unit_extras[unit.index] = extra
        configured = int(self.config.get("batteries", 1))
        pack = battery_pack_from_units(units, extra={
            "absent_units": [i for i in absent if i <= configured],
            "absent_count": len(absent),
            "configured_batteries": configured,
            "units": unit_extras,
        })
        problems = battery_plausibility_problems(pack)
        if problems:
            raise ImplausibleReading("; ".join(problems))
        return pack

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None
                self._session = None

    # ---- units and cells -------------------------------------------------------------
    def _unit(self, row: dict[str, str]) -> tuple[BatteryUnitReading, dict[str, Any]]:
        """The unit of one ``pwr`` row, and its non-column values (unknown columns kept raw)."""
        if "_raw" in row:
            raise DeviceError(f"`pwr` row does not match its header: {row['_raw']!r}")
        fields = _convert(row, PWR_COLUMNS)
        extra = _convert(row, PWR_EXTRA)
        extra.update({k: v for k, v in row.items() if k not in PWR_COLUMNS and k not in PWR_EXTRA})
        unit = BatteryUnitReading(index=int(fields.pop("index")), **fields)
        if unit.voltage is not None and unit.current is not None:
            unit.power = round(unit.voltage * unit.current, 2)
        unit.capacity_ah = self._capacity_ah()
        if unit.serial_number is None and unit.index == 1 and self._identity:
            unit.serial_number = self._identity.serial_number
        unit.cells = self._cells(unit.index)
        return unit, extra

    def _cells(self, index: int) -> list[CellReading]:
        cells = []
        for row in parse_table(self._run(f"bat {index}"), "Battery"):
            if "_raw" in row:
                raise DeviceError(f"`bat {index}` row does not match its header: {row['_raw']!r}")
            fields = _convert(row, BAT_COLUMNS)
            if "soc" not in fields and row.get(BAT_SOC_FALLBACK, EMPTY) != EMPTY:
                fields["soc"] = percent(row[BAT_SOC_FALLBACK])
            cells.append(CellReading(index=int(fields.pop("index")), **fields))
        return cells

    def _capacity_ah(self) -> float | None:
        if self.config.get("capacity_ah"):
            return float(self.config["capacity_ah"])
        spec = self._identity.extra.get("specification", "") if self._identity else ""
        match = re.search(r"(\d+(?:\.\d+)?)\s*AH", spec, re.IGNORECASE)
        return float(match.group(1)) if match else None

    # ---- transport -----------------------------------------------------------------
    def _run(self, command: str) -> list[str]:
        """Run one console command; any failure closes the port so the next call reopens it."""
        try:
            return self._open().command(command)
        except AdapterError:
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


def _convert(row: dict[str, str], columns: dict[str, tuple[str, Converter]]) -> dict[str, Any]:
    """Convert the columns of ``row`` named in ``columns``; ``-`` means no value."""
    out: dict[str, Any] = {}
    for header, (name, convert) in columns.items():
        raw = row.get(header)
        if raw is None or raw == EMPTY:
            continue
        try:
            out[name] = convert(raw)
        except ValueError as exc:
            raise DeviceError(f"column {header!r}: cannot read {raw!r}") from exc
    return out
