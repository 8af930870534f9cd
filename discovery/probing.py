"""Identify what answers on one serial port by trying each adapter type's ``identify()``.

``identify()`` is read-only and time-bounded (the driver contract), so probing cannot
change a device's settings. Each type is tried at its own baud rate and unit id, or at a
configured short list of candidates, cheapest and most distinctive first. A port has a
time budget: once spent, the remaining probes are skipped. Failures are told apart:
silence and garbage are transport errors; a reply that is not the expected device
(a Modbus exception, a wrong serial format) is "unrecognized".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from adapters.errors import AdapterError, ConfigError, TransportError
from adapters.readings import DeviceIdentity
from adapters.registry import create_driver, get_type
from discovery.choices import ProbeResult
from discovery.conf import DiscoverySettings
from discovery.scanning import PortBusy, SerialPort, check_not_busy
from telemetry.buses import BusBusy, bus_locks, serial_bus

BUS_WAIT_S = 5.0  # a poll holds a bus for a few transactions; longer means the bus is stuck

# Types probed by listening only: a JK-PB bus is read from its master's polling (the master,
# address 0, always sends its own frames), so probing it never puts a byte on the bus.
PASSIVE_PROBES: dict[str, dict[str, Any]] = {"jkbms_tcpip": {"mode": "passive", "addresses": [0]}}

# The drivers say how many bytes arrived when a reply made no sense ("garbled reply (96 bytes",
# "(929 bytes without a prompt)"); pure silence is "timeout" / "(silence)".
_HEARD_BYTES = re.compile(r"\(\d+ bytes|garbled")


@dataclass
class Attempt:
    """One ``identify()`` call: which type and settings, and how it ended."""

    adapter_type: str
    config: dict[str, Any]
    result: str  # a ProbeResult value, or "error" for a config problem
    detail: str = ""

    def describe(self) -> str:
        settings = f"{self.config.get('baudrate', '')} baud"
        if "unit_id" in self.config:
            settings += f", unit {self.config['unit_id']}"
        text = f"{self.adapter_type} ({settings}): {self.result}"
        return f"{text} - {self.detail}" if self.detail else text


@dataclass
class ProbeOutcome:
    """What one port answered in this run."""

    port: SerialPort
    result: str = ProbeResult.SILENT
    adapter_type: str = ""
    identity: DeviceIdentity | None = None
    config: dict[str, Any] = field(default_factory=dict)  # the settings that worked
    attempts: list[Attempt] = field(default_factory=list)
    budget_spent: bool = False

    @property
    def identified(self) -> bool:
        return self.identity is not None

    def detail(self) -> str:
        lines = [a.describe() for a in self.attempts]
        if self.budget_spent:
            lines.append("time budget spent: remaining probes skipped")
        return "\n".join(lines)


def candidate_configs(adapter_type: str, path: str, conf: DiscoverySettings) -> list[dict[str, Any]]:
    """The adapter configs to try on ``path``: each candidate baud rate × unit id."""
    spec = get_type(adapter_type)
    defaults = spec.default_config
    bauds = conf.baudrates.get(adapter_type) or [int(defaults.get("baudrate", 9600))]
    modbus = "rtu" in spec.supported_transports
    units: list[int | None] = list(conf.unit_ids.get(adapter_type) or [int(defaults.get("unit_id", 1))]) \
        if modbus else [None]
    configs = []
    for baud in bauds:
        for unit in units:
            config: dict[str, Any] = {"serial_port": path, "baudrate": int(baud),
                                      **PASSIVE_PROBES.get(adapter_type, {})}
            if modbus:
                config.update(transport="rtu", unit_id=unit)
            configs.append(config)
    return configs


def classify(error: AdapterError) -> str:
    """The probe result an ``identify()`` error stands for."""
    if isinstance(error, TransportError):
        return ProbeResult.GARBAGE if _HEARD_BYTES.search(str(error)) else ProbeResult.SILENT
    return ProbeResult.UNRECOGNIZED


def _heard(identity: DeviceIdentity) -> str:
    addresses = identity.extra.get("addresses_on_bus")
    return "addresses " + ", ".join(map(str, addresses)) if addresses else "no serial number"


def _summary(attempts: Iterable[Attempt]) -> str:
    results = {a.result for a in attempts}
    for result in (ProbeResult.UNRECOGNIZED, ProbeResult.GARBAGE):
        if result in results:
            return result
    return ProbeResult.SILENT


class PortProber:
    """Probes one port within its time budget and remembers what it already tried.

    Phase 1 asks for one type (the known device's); later phases ask for the rest without
    repeating a probe, and an identification is reused by every phase of the run.
    """

    def __init__(self, port: SerialPort, conf: DiscoverySettings,
                 clock: Callable[[], float] = time.monotonic, *, collector: str = "") -> None:
        self.port = port
        self.conf = conf
        self.collector = collector
        self.clock = clock
        self.outcome = ProbeOutcome(port)
        self.tried: set[str] = set()
        self.spent_s = 0.0

    def identify(self, types: Iterable[str]) -> ProbeOutcome:
        """Try each type in ``types`` not tried yet, stopping at the first identification."""
        todo = [t for t in types if t not in self.tried]
        if self.outcome.identified or self.outcome.result == ProbeResult.BUSY or not todo:
            return self.outcome
        started = self.clock()
        try:
            # The bus lock keeps a poll in this or another worker off the line while we talk.
            with bus_locks([serial_bus(self.collector, self.port.path), serial_bus(self.collector,
                                                                                    self.port.device)],
                           BUS_WAIT_S):
                check_not_busy(self.port.device)
                self._try_types(todo, started)
        except (PortBusy, TransportError, BusBusy) as exc:
            self.outcome.result = ProbeResult.BUSY
            self.outcome.attempts.append(Attempt("", {}, ProbeResult.BUSY, str(exc)))
        else:
            if not self.outcome.identified:
                self.outcome.result = _summary(self.outcome.attempts)
        self.spent_s += self.clock() - started
        return self.outcome

    def _try_types(self, todo: list[str], started: float) -> None:
        for adapter_type in todo:
            self.tried.add(adapter_type)
            for config in candidate_configs(adapter_type, self.port.path, self.conf):
                if self.spent_s + self.clock() - started >= self.conf.port_budget_s:
                    self.outcome.budget_spent = True
                    return
                if self._attempt(adapter_type, config):
                    return

    def _attempt(self, adapter_type: str, config: dict[str, Any]) -> bool:
        """One ``identify()``; True when it named the device."""
        attempt = Attempt(adapter_type, config, ProbeResult.IDENTIFIED)
        self.outcome.attempts.append(attempt)
        try:
            driver = create_driver(adapter_type, {**config, "timeout": self.conf.probe_timeout_s})
        except ConfigError as exc:
            attempt.result, attempt.detail = "error", str(exc)
            return False
        try:
            identity = driver.identify()
        except AdapterError as exc:
            attempt.result, attempt.detail = classify(exc), f"{type(exc).__name__}: {exc}"
            return False
        finally:
            driver.close()
        if not identity.serial_number:
            # Something answered (a passive JK-PB bus without device-info frames) but nothing names
            # it: discovery tracks devices by their own serial number, so it stays for the user.
            attempt.result = ProbeResult.UNRECOGNIZED
            attempt.detail = (f"{identity.model} answers ({_heard(identity)}), but nothing it sends names "
                              "it (no serial number): configure it by hand")
            return False
        attempt.detail = f"{identity.model} {identity.serial_number}"
        self.outcome.result = ProbeResult.IDENTIFIED
        self.outcome.adapter_type, self.outcome.identity, self.outcome.config = adapter_type, identity, config
        return True
