"""What every rule kind shares: the observation it makes and the limit tests with hysteresis.

A rule kind turns data solarmon already has (a poll's rows, a device's status, a rollup's
glitch counts, the disk) into an :class:`Observation` per subject. The state machine in
:mod:`alerts.evaluation` does the rest (minimum durations, raise once, clear once), so a kind
is a small class that only says what is wrong and what the values are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from alerts.choices import Trigger

if TYPE_CHECKING:
    from alerts.data import DeviceData
    from alerts.models import AlertRule


@dataclass(frozen=True)
class Observation:
    """One look at a condition.

    ``bad``: the condition holds (a value beyond its limit). ``clear``: the value is back inside
    its limit by at least the hysteresis, so it counts towards clearing. A value in between is
    neither: an active alert stays active and a pending one does not progress. ``since`` is when
    the condition began if the data says so (a device is offline since it went stale), else the
    time of the observation is used.
    """

    bad: bool
    clear: bool
    values: dict[str, Any]
    since: datetime | None = None


@dataclass(frozen=True)
class Finding:
    """An observation about one subject (a device, a system, the host)."""

    subject_type: str
    subject_id: str
    system_id: str | None
    observation: Observation


# Measures of a poll that a :class:`Limit` can bound besides the head row's own columns (a
# column is named as it is: "soc", "grid_voltage_v", "current"). Spaces keep them apart from
# any column name.
CELL_VOLTAGES = "cell voltages"  # every cell's voltage (V)
CELL_SPREAD_MV = "cell spread"  # highest minus lowest cell voltage (mV, as ``alerts.data.spread_mv``)
TEMPERATURES = "temperatures"  # the pack's, each unit's and each cell's temperature (°C)


class Limit(NamedTuple):
    """A bound on one measure of a poll: every value the poll has for it (none counts as within)
    lies in ``low <= value <= high``; None is no bound on that side."""

    measure: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class RollupData:
    """What a rollup of one system's local day reports: glitches per (device type, device id)."""

    system_id: str
    day: date
    is_today: bool
    glitches: dict[tuple[str, str], int] = field(default_factory=dict)


class RuleKind:
    """Base of the rule kinds. Subclasses set the class attributes and one ``observe_*`` method."""

    kind: ClassVar[str]
    label: ClassVar[str]
    help: ClassVar[str]
    unit: ClassVar[str] = ""
    triggers: ClassVar[frozenset[str]] = frozenset({Trigger.POLL})
    # Device kinds whose polls this rule kind looks at.
    device_kinds: ClassVar[tuple[str, ...]] = ()
    # Which limits a rule of this kind must set ("low", "high"); at least one of ``either``.
    requires: ClassVar[frozenset[str]] = frozenset()
    either: ClassVar[frozenset[str]] = frozenset()
    # Parts of a poll's data the kind reads ("head", "units", "cells"); loaded once per poll.
    needs: ClassVar[frozenset[str]] = frozenset()
    # A periodic scan covers every subject: a watched subject it no longer reports (a device
    # that was removed or disabled) is cleared.
    clears_unseen: ClassVar[bool] = False
    # What the alerts are about when it is not the polled device itself ("system", "host",
    # "collector"): where Home Assistant shows them (integrations/alerts_mqtt.py).
    subject_type: ClassVar[str | None] = None

    def subject(self, device_type: str, device_id: str, system_id: str) -> tuple[str, str]:
        """What an alert from this device's poll is about (the device itself, by default)."""
        return device_type, device_id

    def check(self, rule: AlertRule, data: DeviceData) -> tuple[bool, bool] | None:
        """``(bad, clear)`` of one poll's data as :class:`Observation` has them, or None when the
        data says nothing about the condition. Runs after every poll, so it only compares numbers
        (the poll's shared extremes, the rule's limits) and builds nothing."""
        return None

    def values(self, rule: AlertRule, data: DeviceData) -> dict[str, Any]:
        """The readings an alert stores when it is raised or cleared (only then computed)."""
        return {}

    def quiet_when(self, rule: AlertRule) -> list[tuple[Limit, ...]] | None:
        """Where a poll's data cannot make :meth:`check` find the condition (``bad``): within
        one limit of each group (a group of one limit is the common case). None: the kind
        cannot say, so every poll of its devices is checked in full.

        A device's poll that is within every limit of its rules, with nothing in progress for
        them, is done without running a check (``alerts.data.Screen``): most polls of a healthy
        site. ``check`` stays the rule; these limits only need to imply its "not bad", and a
        test holds every kind's limits against its check."""
        return None

    def observe(self, rule: AlertRule, data: DeviceData) -> Observation | None:
        """Look at one poll's data: :meth:`check` with :meth:`values`."""
        verdict = self.check(rule, data)
        if verdict is None:
            return None
        return Observation(verdict[0], verdict[1], self.values(rule, data))

    def scan(self, rule: AlertRule, now: datetime) -> Iterable[Finding]:
        """Periodic look at every subject of the rule."""
        return ()

    def covers(self, subject_id: str) -> bool:
        """Whether a ``scan`` here can see that subject (``clears_unseen`` only clears those)."""
        return True

    def observe_rollup(self, rule: AlertRule, rollup: RollupData) -> Iterable[Finding]:
        """Look at what a rollup of a day found."""
        return ()

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        """One line for the banner, the page and the notification."""
        return f"{self.label} on {subject}" if raised else f"{self.label} over on {subject}"


def above(value: float, high: float, hysteresis: float) -> tuple[bool, bool]:
    """(bad, clear) for an upper limit: bad beyond it, clear once back by the hysteresis."""
    return value > high, value <= high - hysteresis


def below(value: float, low: float, hysteresis: float) -> tuple[bool, bool]:
    """(bad, clear) for a lower limit."""
    return value < low, value >= low + hysteresis


def outside(lowest: float, highest: float, low: float | None, high: float | None,
            hysteresis: float) -> tuple[bool, bool]:
    """(bad, clear) for a range: bad if either end is beyond its limit, clear if both are back."""
    bad, clear = False, True
    if low is not None:
        b, c = below(lowest, low, hysteresis)
        bad, clear = bad or b, clear and c
    if high is not None:
        b, c = above(highest, high, hysteresis)
        bad, clear = bad or b, clear and c
    return bad, clear


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
