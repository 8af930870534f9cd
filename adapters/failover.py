"""Read one device through the best of several adapters, by priority.

A battery pack may be reachable through several adapters (a wired gateway and BLE). The
reader uses the highest-priority adapter that works (lower ``priority`` number = higher
priority, as in ``battery_pack_adapters``). On an error it falls over to the next one;
while a lower-priority adapter is active, the higher ones are retried only every
``failback_interval_s`` (not on every poll, since a dead adapter costs a timeout).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from adapters.base import Driver
from adapters.errors import AdapterError
from adapters.readings import DeviceIdentity, Reading

T = TypeVar("T")


@dataclass
class FailoverMember:
    """One adapter of the device and its last failure, if any."""

    adapter_id: str
    priority: int
    driver: Driver
    last_error: str = ""


class FailoverReader:
    """Reads through the highest-priority working adapter; see the module docstring."""

    def __init__(self, members: Iterable[tuple[str, int, Driver]], *, failback_interval_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        ordered = sorted(members, key=lambda m: m[1])
        if not ordered:
            raise ValueError("a failover reader needs at least one adapter")
        self.members = [FailoverMember(a, p, d) for a, p, d in ordered]
        self.failback_interval_s = failback_interval_s
        self.clock = clock
        self._active = 0
        self._last_failback_check = clock()

    @property
    def active_adapter_id(self) -> str:
        """The adapter the last successful read went through (initially the primary)."""
        return self.members[self._active].adapter_id

    def status(self) -> dict[str, object]:
        """The active adapter and each adapter's last error, for device status."""
        return {"active_adapter_id": self.active_adapter_id,
                "errors": {m.adapter_id: m.last_error for m in self.members if m.last_error}}

    def read(self) -> Reading:
        """A reading from the best working adapter, tagged with its ``adapter_id``."""
        return self._first_success(lambda m: m.driver.read())

    def identify(self) -> DeviceIdentity:
        """The identity as seen through the best working adapter."""
        return self._first_success(lambda m: m.driver.identify())

    def close(self) -> None:
        for member in self.members:
            member.driver.close()

    def _candidates(self) -> list[int]:
        indexes = list(range(len(self.members)))
        due = self.clock() - self._last_failback_check >= self.failback_interval_s
        if self._active == 0 or due:
            if self._active:
                self._last_failback_check = self.clock()
            return indexes  # strictly by priority: fail back if a better adapter answers
        # Not due: the active one first, then the lower ones, the known-bad higher ones last.
        return [i for i in indexes if i >= self._active] + [i for i in indexes if i < self._active]

    def _first_success(self, work: Callable[[FailoverMember], T]) -> T:
        failures: list[AdapterError] = []
        for index in self._candidates():
            member = self.members[index]
            try:
                result = work(member)
            except AdapterError as exc:
                member.last_error = str(exc)
                failures.append(exc)
                continue
            member.last_error = ""
            if index != self._active:
                self._active = index
                self._last_failback_check = self.clock()
            if hasattr(result, "adapter_id"):
                result.adapter_id = member.adapter_id
            return result
        summary = "; ".join(f"{m.adapter_id}: {m.last_error}" for m in self.members)
        raise AdapterError(f"all adapters failed ({summary})",
                           permanent=all(exc.permanent for exc in failures))
