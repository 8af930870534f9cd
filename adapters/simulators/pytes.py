"""Pytes / Pylontech console simulator on a pty: ``pwr``, ``bat N``, ``info N`` with a pager.

The driver opens ``simulator.path`` with pyserial exactly as it would open a USB port.
Values come from the plant (see :mod:`adapters.simulators.battery`). ``fault`` injects:
``silence`` (no reply), ``garbage`` (random bytes), ``truncated`` (half a reply, no end
marker), ``bad_checksum`` (a mangled number: the console has no checksum), ``disconnect``
(half a reply, then the link stays dead until the fault is cleared), ``garbled_row`` (a
real console quirk: in one ``bat 1`` row a status column is left blank and the SOC slides
under "Temp. State"). ``absent`` units print ``Absent``. ``capacity_ah`` may differ per
unit (a mixed stack: each unit's ``info N`` states its own).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import select
import threading
from collections.abc import Iterable
from types import TracebackType

from adapters.simulators.battery import (
    LOW_CELL_DROP_MV,
    SimUnit,
    battery_units,
    default_serial,
    run_until_signal,
)
from adapters.simulators.plant import Plant
from adapters.simulators.ptyport import PtyPort, open_pty
from adapters.simulators.pytes_output import VARIANTS, Variant, render_bat, render_info, render_pwr

PAGER = "Press [Enter] to be continued,other key to exit"
GARBLED_CELL = 2  # the cell whose `bat 1` row the ``garbled_row`` fault prints wrong
INVALID = "Invalid command or fail to excute."


class PytesSimulator:
    """A console of ``batteries`` units on a pty, rendered in the ``variant`` dialect."""

    def __init__(self, plant: Plant | None = None, *, variant: str = "pytes", batteries: int = 2,
                 cells_per_battery: int = 16, serials: dict[int, str] | None = None,
                 page_lines: int = 20, absent: Iterable[int] = (),
                 capacity_ah: float | dict[int, float] = 100.0,
                 low_cell: tuple[int, int] | None = None) -> None:
        self.plant = plant or Plant()
        self.variant: Variant = VARIANTS[variant]
        self.batteries = batteries
        self.cells = cells_per_battery
        prefix = "PPTAH05" if variant == "pytes" else "PPTBH02"
        self.serials = serials or {i: default_serial(prefix, i) for i in range(1, 17)}
        self.page_lines = page_lines
        self.absent = set(absent)
        self.capacity_ah = capacity_ah
        self.low_cell = low_cell
        self.low_cell_drop_mv = LOW_CELL_DROP_MV
        self.fault: str | None = None
        self.commands: list[str] = []  # every command received, for tests and the demo log
        self._pty: PtyPort | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._line = bytearray()
        self._pending: list[str] = []  # lines held back by the pager
        self._dead = False
        self._rng = random.Random(7)

    # ---- lifecycle ------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The slave side of the pty: the "serial port" drivers open."""
        if self._pty is None:
            raise RuntimeError("simulator not started")
        return self._pty.path

    def start(self) -> PytesSimulator:
        self._pty = open_pty()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pytes-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    def __enter__(self) -> PytesSimulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def unit_capacity_ah(self, index: int) -> float:
        """Unit ``index``'s own capacity (a mixed stack has several)."""
        if isinstance(self.capacity_ah, dict):
            return self.capacity_ah.get(index, 100.0)
        return self.capacity_ah

    def present_units(self) -> list[SimUnit]:
        """The units the console reports now (plant values at the plant clock's now)."""
        indexes = [i for i in range(1, self.batteries + 1) if i not in self.absent]
        units = battery_units(self.plant.state(), indexes, self.cells, serials=self.serials,
                              low_cell=self.low_cell, low_cell_drop_mv=self.low_cell_drop_mv)
        for unit in units:
            unit.capacity_ah = self.unit_capacity_ah(unit.index)
        return units

    # ---- line handling ----------------------------------------------------------------
    def _run(self) -> None:
        assert self._pty is not None
        fd = self._pty.master_fd
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(fd, 1024)
            except OSError:
                return
            for byte in data:
                self._on_byte(byte)

    def _on_byte(self, byte: int) -> None:
        if self._pending:
            if byte == 0x0D:
                self._emit_page()
            else:
                self._pending.clear()
                self._write(self.variant.eol + self.variant.prompt)
            return
        if byte == 0x0D:
            line, self._line = self._line.decode("latin-1").strip(), bytearray()
            self._handle(line)
        elif byte != 0x0A:
            self._line.append(byte)

    def _handle(self, command: str) -> None:
        if self._dead or self.fault == "silence":
            return
        if not command:
            self._write(self.variant.eol + self.variant.prompt)
            return
        self.commands.append(command)
        if self.fault == "garbage":
            self._write(bytes(self._rng.randrange(256) for _ in range(200)).decode("latin-1"))
            return
        lines = [command, "@", *self._body(command), "Command completed successfully", "$$"]
        if self.fault in ("truncated", "disconnect"):
            self._dead = self.fault == "disconnect"
            self._write(self.variant.eol.join(lines[: len(lines) // 2]))
            return
        self._pending = lines
        self._emit_page()

    def _body(self, command: str) -> list[str]:
        name, _, arg = command.partition(" ")
        index = int(arg) if arg.strip().isdigit() else None
        if name == "pwr" and index is None:
            units = {u.index: u for u in self.present_units()}
            body = render_pwr(self.variant, units, self.plant.state().ts, max(16, self.batteries))
            if self.fault == "bad_checksum":
                body[1] = re.sub(r"^(\d+\s+)\d", r"\1x", body[1])  # "1  x3070": a mangled volt
            return body
        units = {u.index: u for u in self.present_units()}
        if name == "bat" and index in units:
            garbled = (GARBLED_CELL,) if self.fault == "garbled_row" and index == 1 else ()
            return render_bat(self.variant, units[index], garbled_cells=garbled)
        if name == "info" and index is not None and 1 <= index <= self.batteries:
            return render_info(self.variant, self.serials[index], self.cells, self.unit_capacity_ah(index),
                               index)
        return [INVALID, "Usage: " + name + " [n]"]

    def _emit_page(self) -> None:
        # Long replies pause after `page_lines` lines until the reader sends Enter.
        chunk, self._pending = self._pending[: self.page_lines], self._pending[self.page_lines:]
        text = self.variant.eol.join(chunk) + self.variant.eol
        if self._pending:
            self._write(text + PAGER)
        else:
            self._write(text + self.variant.eol + self.variant.prompt)

    def _write(self, text: str) -> None:
        if self._pty is not None:
            try:
                os.write(self._pty.master_fd, text.encode("latin-1"))
            except OSError:
                pass

    def clear_faults(self) -> None:
        """Back to normal operation (also revives a ``disconnect``-ed link)."""
        self.fault = None
        self._dead = False


def main(adapter_type: str, argv: list[str]) -> int:
    """``simulate pytes --variant pytes|pylontech --batteries N --cells N``: prints the pty path."""
    parser = argparse.ArgumentParser(prog=f"simulate {adapter_type}")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="pytes")
    parser.add_argument("--batteries", type=int, default=2)
    parser.add_argument("--cells", type=int, default=16)
    parser.add_argument("--absent", type=int, nargs="*", default=[])
    parser.add_argument("--capacity", type=float, nargs="*", default=[100.0],
                        help="Ah per unit, from unit 1 (a mixed stack: --capacity 100 50 50)")
    parser.add_argument("--garbled-row", action="store_true",
                        help="print one `bat 1` row with a blank status column, as a real console did")
    args = parser.parse_args(argv)
    capacities = {i + 1: ah for i, ah in enumerate(args.capacity)}
    with PytesSimulator(variant=args.variant, batteries=args.batteries, cells_per_battery=args.cells,
                        absent=args.absent, capacity_ah={i: capacities.get(i, args.capacity[-1])
                                                         for i in range(1, args.batteries + 1)}) as sim:
        sim.fault = "garbled_row" if args.garbled_row else None
        print(f"pytes console ({args.variant}) on {sim.path}", flush=True)
        run_until_signal()
    return 0
