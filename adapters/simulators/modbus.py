"""Modbus device simulators: Powdrive (Deye family), Senergy and IAMMeter.

Each serves its device's register map over Modbus TCP, RTU on a pty pair and RTU over
TCP, from one background thread. Register values are computed from a
:class:`~adapters.simulators.plant.Plant` at request time and encoded with the drivers'
own register maps. Faults are switched at runtime with :meth:`ModbusSimulator.inject`
and a one-shot :meth:`ModbusSimulator.glitch_counters`; :attr:`ModbusSimulator.stats`
counts transactions and bytes on the wire.

``main(adapter_type, argv)`` is the ``manage.py simulate powdrive|senergy|iammeter``
entry point: ``--tcp PORT``, ``--rtu`` (prints the pty path), ``--rtu-over-tcp PORT``,
``--serial SN``, ``--profile`` (powdrive), ``--device-type`` (powdrive), ``--model``
(iammeter), ``--unit-id``. It runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType, TracebackType
from typing import ClassVar, Literal

from adapters.iammeter import registers as iam
from adapters.modbus.registers import RegisterMap, Value
from adapters.powdrive import registers as deye
from adapters.senergy import registers as senergy
from adapters.simulators import modbus_devices as devices
from adapters.simulators.modbus_server import ILLEGAL_ADDRESS, Faults, ModbusWireServer, WireStats
from adapters.simulators.plant import Plant, PlantState

# Plant is not thread-safe and several simulators (one thread each) may share one.
_PLANT_LOCK = threading.Lock()
GLITCH_JUMP_KWH = 50_000.0


class ModbusSimulator:
    """Base of the Modbus simulators: endpoints, faults, counters, plant → registers."""

    adapter_type: ClassVar[str]
    valid_ranges: tuple[tuple[int, int], ...] = ((0, 0xFFFF),)

    def __init__(self, plant: Plant | None = None, *, serial: str, unit_id: int = 1) -> None:
        self.plant = plant or Plant()
        self.serial = serial
        self.server = ModbusWireServer(self._registers, unit_id=unit_id)
        self.overrides: dict[str, Value] = {}
        self._glitch: Literal["backwards", "jump"] | None = None

    # ---- device description (subclasses) -------------------------------------------
    def maps(self) -> tuple[RegisterMap, ...]:
        raise NotImplementedError

    def values(self, now: PlantState, midnight: PlantState) -> dict[str, Value]:
        raise NotImplementedError

    # ---- endpoints and lifecycle ----------------------------------------------------
    def serve_tcp(self, port: int = 0) -> int:
        """Modbus TCP (MBAP) on 127.0.0.1; returns the port."""
        return self.server.listen_tcp(port, "mbap")

    def serve_rtu_over_tcp(self, port: int = 0) -> int:
        """RTU frames over a TCP socket, like a transparent RS485 gateway; returns the port."""
        return self.server.listen_tcp(port, "rtu")

    def serve_rtu(self) -> str:
        """RTU on a new pty pair; returns the serial path for the driver."""
        return self.server.open_pty()

    def start(self) -> ModbusSimulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> ModbusSimulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ---- faults and counters --------------------------------------------------------
    @property
    def stats(self) -> WireStats:
        return self.server.stats

    def inject(self, **faults: object) -> None:
        """Switch faults on, replacing the current ones (see :class:`Faults` for the keys)."""
        self.server.set_faults(Faults(**faults))  # type: ignore[arg-type]

    def clear_faults(self) -> None:
        self.server.set_faults(Faults())

    def glitch_counters(self, kind: Literal["backwards", "jump"] = "backwards") -> None:
        """Make the energy counters jump (or run backwards) in the next reply that holds them."""
        self._glitch = kind

    # ---- register source ------------------------------------------------------------
    def _registers(self, start: int, count: int) -> list[int] | int:
        end = start + count - 1
        if not any(a <= start and end <= b for a, b in self.valid_ranges):
            return ILLEGAL_ADDRESS
        words = self.words(start, count)
        return [words.get(a, 0) for a in range(start, start + count)]

    def words(self, start: int = 0, count: int = 0x10000) -> dict[int, int]:
        """Every mapped register's word now (a glitch is used up by a read covering a counter)."""
        with _PLANT_LOCK:
            now = self.plant.state()
            midnight = self.plant.state(_local_midnight(now.ts, self.plant.params.utc_offset_h))
        values = {**self.values(now, midnight), "serial_number": self.serial, **self.overrides}
        glitch, touched = self._glitch, False
        words: dict[int, int] = {}
        for regmap in self.maps():
            for entry in regmap.entries:
                if entry.field not in values:
                    continue
                value = values[entry.field]
                if glitch and entry.field.endswith("_kwh") and isinstance(value, int | float):
                    value = value * 0.5 if glitch == "backwards" else value + GLITCH_JUMP_KWH
                    touched = touched or any(start <= a < start + count
                                             for a in entry.addresses(regmap.word_order))
                words.update(entry.encode(value, regmap.word_order))
        if touched:
            self._glitch = None
        return words


def _local_midnight(ts: datetime, utc_offset_h: float) -> datetime:
    offset = timedelta(hours=utc_offset_h)
    local = ts + offset
    return local.replace(hour=0, minute=0, second=0, microsecond=0) - offset


class PowdriveSimulator(ModbusSimulator):
    """A Deye-family hybrid; ``profile`` picks the map and the device-type code in register 0."""

    adapter_type = "powdrive"
    valid_ranges = ((0, 999),)
    DEVICE_TYPES: ClassVar[dict[str, int]] = {
        deye.SINGLE_PHASE: 0x0300, deye.THREE_PHASE: 0x0005, deye.THREE_PHASE_HV: 0x0600}
    RATED_W: ClassVar[dict[str, float]] = {
        deye.SINGLE_PHASE: 8000.0, deye.THREE_PHASE: 12000.0, deye.THREE_PHASE_HV: 30000.0}

    def __init__(self, plant: Plant | None = None, *, profile: str | None = None,
                 device_type: int | None = None, serial: str = "PD23456789", unit_id: int = 1) -> None:
        """Without ``profile`` the map follows ``device_type``; without either, three-phase.

        Giving both makes a device whose register 0 disagrees with its map.
        """
        super().__init__(plant, serial=serial, unit_id=unit_id)
        if profile is None:
            profile = deye.THREE_PHASE if device_type is None else deye.profile_for_device_type(device_type)
        self.profile = profile
        self.device_type = self.DEVICE_TYPES[profile] if device_type is None else device_type

    def maps(self) -> tuple[RegisterMap, ...]:
        return deye.IDENTITY, deye.MAPS[self.profile]

    def values(self, now: PlantState, midnight: PlantState) -> dict[str, Value]:
        rated = self.RATED_W[self.profile]
        return {"device_type": self.device_type, "modbus_address": self.server.unit_id,
                "protocol_version": 0x0104, "rated_power_1ph": rated, "rated_power_3ph": rated,
                "mppt_phases_3ph": 0x0203,
                **devices.powdrive_values(now, midnight, three_phase=self.profile != deye.SINGLE_PHASE,
                                          hv=self.profile == deye.THREE_PHASE_HV)}


class SenergySimulator(ModbusSimulator):
    """A Senergy SE-series single-phase hybrid."""

    adapter_type = "senergy"
    valid_ranges = ((0x1000, 0x10FF), (0x1300, 0x13FF), (0x1A00, 0x1AFF), (0x2000, 0x20FF))

    def __init__(self, plant: Plant | None = None, *, serial: str = "SE6K2023A0001234",
                 model: str = "SE 6KW", unit_id: int = 1) -> None:
        super().__init__(plant, serial=serial, unit_id=unit_id)
        self.model = model

    def maps(self) -> tuple[RegisterMap, ...]:
        return senergy.IDENTITY, senergy.live_map()

    def values(self, now: PlantState, midnight: PlantState) -> dict[str, Value]:
        return {"model": self.model, "protocol_version": 0x0100, "mppt_count": 2,
                "rated_power": 6000, "grid_phases": 1, **devices.senergy_values(now, midnight)}


class IammeterSimulator(ModbusSimulator):
    """An IAMMeter: the TCP map (from 0) and the RS485 map (from 0x48) on every endpoint."""

    adapter_type = "iammeter"

    def __init__(self, plant: Plant | None = None, *, model: str = iam.WEM3080T,
                 serial: str = "IAM3080T00012345", unit_id: int = 1) -> None:
        super().__init__(plant, serial=serial, unit_id=unit_id)
        self.model = model
        self.valid_ranges = ((0, 65), (0x48, 0x84)) if model == iam.WEM3080T else \
            ((0, 7), (56, 63), (0x48, 0x65))

    def maps(self) -> tuple[RegisterMap, ...]:
        return iam.IDENTITY, iam.live_map("tcp", self.model)

    def words(self, start: int = 0, count: int = 0x10000) -> dict[int, int]:
        words = super().words(start, count)
        # The RS485 map holds the same quantities with unsigned power plus a direction flag.
        with _PLANT_LOCK:
            now = self.plant.state()
        rtu_values = {**devices.iammeter_values(now, model=self.model, rtu=True), **self.overrides}
        words.update(iam.live_map("rtu", self.model).encode(rtu_values))
        return words

    def values(self, now: PlantState, midnight: PlantState) -> dict[str, Value]:
        return devices.iammeter_values(now, model=self.model, rtu=False)


SIMULATORS: dict[str, type[ModbusSimulator]] = {
    "powdrive": PowdriveSimulator, "senergy": SenergySimulator, "iammeter": IammeterSimulator}


def build_simulator(adapter_type: str, args: argparse.Namespace, plant: Plant | None = None
                    ) -> ModbusSimulator:
    """The simulator for ``adapter_type`` configured from parsed command-line ``args``."""
    extra: dict[str, object] = {"unit_id": args.unit_id}
    if args.serial:
        extra["serial"] = args.serial
    if adapter_type == "powdrive":
        return PowdriveSimulator(plant, profile=args.profile, device_type=args.device_type,
                                 **extra)  # type: ignore[arg-type]
    if adapter_type == "iammeter":
        return IammeterSimulator(plant, model=args.model, **extra)  # type: ignore[arg-type]
    return SIMULATORS[adapter_type](plant, **extra)  # type: ignore[arg-type]


def _parser(adapter_type: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"simulate {adapter_type}",
                                     description=f"Simulate a {adapter_type} device over Modbus.")
    parser.add_argument("--tcp", type=int, metavar="PORT", help="serve Modbus TCP on 127.0.0.1:PORT")
    parser.add_argument("--rtu", action="store_true", help="serve Modbus RTU on a pty (prints its path)")
    parser.add_argument("--rtu-over-tcp", type=int, metavar="PORT", help="serve RTU frames over TCP")
    parser.add_argument("--serial", help="serial number the device reports")
    parser.add_argument("--unit-id", type=int, default=1)
    parser.add_argument("--profile", choices=deye.PROFILES,
                        help="powdrive register profile (default: from --device-type, else three-phase)")
    parser.add_argument("--device-type", type=lambda s: int(s, 0), help="powdrive register 0 code")
    parser.add_argument("--model", choices=iam.MODELS, default=iam.WEM3080T, help="iammeter model")
    return parser


def main(adapter_type: str, argv: list[str]) -> int:
    """Run one simulator until SIGINT or SIGTERM; print its endpoints."""
    if adapter_type not in SIMULATORS:
        raise SystemExit(f"no Modbus simulator for {adapter_type!r}")
    args = _parser(adapter_type).parse_args(argv)
    sim = build_simulator(adapter_type, args)
    # Handle signals before announcing the endpoints: whoever reads them may stop us at once.
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    if args.tcp is None and not args.rtu and args.rtu_over_tcp is None:
        args.tcp = 0
    if args.tcp is not None:
        print(f"{adapter_type}: Modbus TCP on 127.0.0.1:{sim.serve_tcp(args.tcp)}", flush=True)
    if args.rtu_over_tcp is not None:
        print(f"{adapter_type}: RTU over TCP on 127.0.0.1:{sim.serve_rtu_over_tcp(args.rtu_over_tcp)}",
              flush=True)
    if args.rtu:
        print(f"{adapter_type}: Modbus RTU on {sim.serve_rtu()}", flush=True)
    with sim:
        while not stop.wait(0.5):
            pass
    return 0
