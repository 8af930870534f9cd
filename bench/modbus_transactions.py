"""Transactions and bytes per poll of each Modbus driver, and what they cost at 9600 baud.

Each driver polls its simulator over RTU framing (RTU over TCP, so the bytes counted
are exactly those an RS485 line would carry). The identity is read first and not
counted: it is read once per driver, not per poll. The baseline is the same driver
with ``max_block=1, gap_bridge=0``, i.e. one register per request.

Time model at 9600 baud 8N1: 10 bits per byte on the wire, plus per transaction
two 3.5-character silences (after the request and after the reply) and 20 ms of
device latency (the time a typical inverter takes to start answering).

Run: ``.venv/bin/python bench/modbus_transactions.py``
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.registry import create_driver
from adapters.simulators.modbus import (
    IammeterSimulator,
    ModbusSimulator,
    PowdriveSimulator,
    SenergySimulator,
)
from adapters.simulators.plant import Plant

BAUD = 9600
BITS_PER_BYTE = 10
SILENCE_S = 3.5 * BITS_PER_BYTE / BAUD
DEVICE_LATENCY_S = 0.020
NOON = datetime(2024, 6, 1, 7, 0, tzinfo=UTC)


@dataclass
class Cost:
    """One poll's traffic and its time on a 9600 baud line."""

    transactions: int
    bytes: int

    @property
    def seconds(self) -> float:
        wire = self.bytes * BITS_PER_BYTE / BAUD
        return wire + self.transactions * (2 * SILENCE_S + DEVICE_LATENCY_S)


def measure(sim: ModbusSimulator, adapter_type: str, **config: object) -> Cost:
    """Traffic of one poll (identity excluded) of ``adapter_type`` against ``sim``."""
    port = sim.serve_rtu_over_tcp()
    cfg = {"transport": "rtu_over_tcp", "host": "127.0.0.1", "port": port, "timeout": 2.0, **config}
    with create_driver(adapter_type, cfg) as driver:
        driver.identify()
        sim.stats.reset()
        driver.read()
    return Cost(sim.stats.transactions, sim.stats.bytes_in + sim.stats.bytes_out)


def cases(plant: Plant) -> list[tuple[str, str, ModbusSimulator, dict[str, object]]]:
    return [
        ("powdrive single-phase", "powdrive", PowdriveSimulator(plant, profile="single-phase"), {}),
        ("powdrive three-phase", "powdrive", PowdriveSimulator(plant, profile="three-phase"), {}),
        ("powdrive three-phase-hv", "powdrive", PowdriveSimulator(plant, profile="three-phase-hv"), {}),
        ("senergy", "senergy", SenergySimulator(plant), {}),
        ("iammeter WEM3080T (RTU map)", "iammeter", IammeterSimulator(plant), {"model": "WEM3080T"}),
    ]


def main() -> int:
    plant = Plant(start=datetime(2024, 6, 1, tzinfo=UTC), clock=lambda: NOON)
    print(f"9600 baud, {BITS_PER_BYTE} bits/byte, per transaction 2 x 3.5 char silence "
          f"({2 * SILENCE_S * 1000:.1f} ms) + {DEVICE_LATENCY_S * 1000:.0f} ms device latency\n")
    header = (f"{'driver':30} {'txn':>4} {'bytes':>6} {'time':>8} | {'1-reg txn':>9} {'bytes':>6} "
              f"{'time':>8} | {'ratio':>5}")
    print(header)
    print("-" * len(header))
    for name, adapter_type, sim, config in cases(plant):
        with sim:
            planned = measure(sim, adapter_type, **config)
            single = measure(sim, adapter_type, max_block=1, gap_bridge=0, **config)
        print(f"{name:30} {planned.transactions:4d} {planned.bytes:6d} {planned.seconds:7.3f}s | "
              f"{single.transactions:9d} {single.bytes:6d} {single.seconds:7.3f}s | "
              f"{single.seconds / planned.seconds:5.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
