"""Evaluating rules: the state machine (pure) and the three moments it runs.

``decide`` is the whole policy: an alert is raised when its condition has held for the rule's
``raise_after_s``, and cleared when its value has been back inside the limit by the hysteresis
for ``clear_after_s``. A value between the limit and the hysteresis band neither raises nor
clears, and it resets whichever delay was running, so a value hovering at a limit cannot flap.

Evaluation runs after each poll (``evaluate_poll``: only that device, from the rows it wrote),
periodically (``evaluate_periodic``: offline devices, disk space, collectors) and after each rollup
(``evaluate_rollup``: counter glitches). Writes happen only when something changes.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce
from operator import or_
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from alerts import services
from alerts.choices import Trigger
from alerts.data import DeviceData, Screen
from alerts.kinds.base import Finding, Limit, Observation, RollupData
from alerts.models import AlertRule, AlertWatch
from catalog.models import System
from telemetry.ingest import RowSet

log = logging.getLogger(__name__)

Key = tuple[int, str, str]


@dataclass(frozen=True)
class Decision:
    """Where a rule stands for a subject after one observation, and what happened."""

    active: bool
    since: datetime | None
    event: str | None = None  # "raised" or "cleared"


def decide(active: bool, since: datetime | None, obs: Observation, at: datetime, raise_after_s: float,
           clear_after_s: float) -> Decision:
    """The next state of one rule for one subject, given an observation at ``at``."""
    if not active:
        if not obs.bad:
            return Decision(False, None)
        start = obs.since or since or at
        if (at - start).total_seconds() >= raise_after_s:
            return Decision(True, None, "raised")
        return Decision(False, start)
    if not obs.clear:
        return Decision(True, None)
    start = since or at
    if (at - start).total_seconds() >= clear_after_s:
        return Decision(False, None, "cleared")
    return Decision(True, start)


# How stale this process's view of the rules and of the watches may be: a rule edited or a watch
# changed in another process (the web, another worker of the pool, another collector) is seen
# within this time. Changes made in this process are seen at once.
RECHECK_S = 2.0

_clock = time.monotonic
_QUIET: dict[str, Any] = {}  # the values of an observation only tested for a change (never stored)

Held = tuple[int | None, datetime | None]  # a watch as mirrored: (active alert id, since)
Step = tuple[AlertRule, Callable[[AlertRule, DeviceData], tuple[bool, bool] | None], Key]


class Plan:
    """One device's poll rules (each with its kind's check and its watch's key) and, when every
    kind can say where a poll is quiet, the :class:`alerts.data.Screen` of their limits."""

    __slots__ = ("idle_at", "keys", "screen", "steps")

    def __init__(self, steps: tuple[Step, ...], screen: Screen | None) -> None:
        self.steps = steps
        self.screen = screen
        self.keys = tuple(key for _, _, key in steps)
        self.idle_at = -1  # the mirror's version when none of the keys had a watch

    def idle(self, mirror: _Mirror) -> bool:
        """Whether nothing is in progress for these rules and subjects (no watch), as the
        mirror has it: looked up again only after the mirror's watches changed."""
        if self.idle_at == mirror.version:
            return True
        watches = mirror.watches
        if any(key in watches for key in self.keys):
            return False
        self.idle_at = mirror.version
        return True


class _Mirror:
    """What the poll path needs, kept per process: the enabled rules, each device's plan (the
    rules its polls are checked against, with their check and the key of their watch, built
    once per device and rule set), and a mirror of every watch (``alert_watches``: the pending
    conditions and the active alerts, as few as things in progress).

    The database stays the truth, so that a condition's start survives a restart and is seen by
    every worker process: a watch is written when a state changes (a condition starts waiting out
    its raise delay, an alert is raised, a clear delay starts or is reset, an alert clears), and
    read back, by the decision that writes, just before it writes. The mirror only tells a poll
    that nothing would change: this process's saves and deletes of watches update it at once
    (``post_save``/``post_delete``), and the whole of it, with the rules' fingerprint, is read
    again at most every ``RECHECK_S`` (two small queries), so a change another process made is
    seen within that time. A poll with nothing wrong, or with an alert active whose condition
    still holds, is then a few comparisons in memory: no query, no write.

    ``version`` counts the changes of the mirrored watches, so that a device's plan knows
    whether it has to look for its watches again (:meth:`Plan.idle`).
    """

    def __init__(self) -> None:
        self.stamp: tuple[Any, ...] | None = None
        self.rules: list[AlertRule] = []
        self.watches: dict[Key, Held] = {}
        self.version = 0
        self.checked_at = -math.inf
        self.plans: dict[tuple[str, str, str], Plan] = {}

    def plan(self, device_type: str, device_id: str, system_id: str) -> Plan:
        """The poll rules of this device, each with its kind's check and its watch's key."""
        key = (device_type, device_id, system_id)
        found = self.plans.get(key)
        if found is None:
            steps: list[Step] = []
            limits: list[tuple[Limit, ...]] | None = []
            for rule in self.rules:
                kind = rule.rule_kind
                if Trigger.POLL in kind.triggers and rule.applies_to(device_type, device_id, system_id):
                    subject_type, subject_id = kind.subject(device_type, device_id, system_id)
                    steps.append((rule, kind.check, (rule.pk, subject_type, subject_id)))
                    quiet = kind.quiet_when(rule)
                    limits = None if quiet is None or limits is None else limits + quiet
            screen = None if limits is None or not steps else Screen(device_type, limits)
            found = self.plans[key] = Plan(tuple(steps), screen)
        return found

    def current(self, *, fresh: bool = False) -> list[AlertRule]:
        """The enabled rules, after reading rules and watches again if they may be stale."""
        if fresh or _clock() - self.checked_at > RECHECK_S:
            self._read()
        return self.rules

    def _read(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*), MAX(updated_at), SUM(id) FROM {AlertRule._meta.db_table}")
            stamp = tuple(cursor.fetchone() or (0, None, None))
        watches = _all_watches()
        if watches != self.watches:
            self.watches = watches
            self.version += 1
        if stamp != self.stamp:
            self.rules = list(AlertRule.objects.filter(enabled=True))
            self.stamp = stamp
            self.plans = {}
        self.checked_at = _clock()

    def saved(self, sender: Any, instance: AlertWatch, **kwargs: Any) -> None:
        """``post_save`` of a watch: mirror it."""
        self.watches[(instance.rule_id, instance.device_type, instance.device_id)] = (instance.alert_id,
                                                                                       instance.since)
        self.version += 1

    def deleted(self, sender: Any, instance: AlertWatch, **kwargs: Any) -> None:
        """``post_delete`` of a watch: nothing is in progress for that rule and subject any more."""
        self.watches.pop((instance.rule_id, instance.device_type, instance.device_id), None)
        self.version += 1

    def read_back(self, keys: Iterable[Key], found: dict[Key, AlertWatch]) -> None:
        """What the database said about these keys just now replaces what was mirrored."""
        for key in keys:
            watch = found.get(key)
            if watch is None:
                self.watches.pop(key, None)
            else:
                self.watches[key] = (watch.alert_id, watch.since)
        self.version += 1

    def invalidate(self, *args: Any, **kwargs: Any) -> None:
        """Read rules and watches again at the next use (a rule was saved; a test's database
        was rolled back)."""
        self.checked_at = -math.inf
        self.stamp = None


def _all_watches() -> dict[Key, Held]:
    """Every watch, as the mirror holds it, in one plain statement: building the ORM query cost
    ten times running it (0.3 of 0.4 ms), at every re-read of every process. ``since`` goes
    through the converters the ORM would apply (SQLite's text to an aware datetime)."""
    meta = AlertWatch._meta
    fields = {field.name: field for field in meta.concrete_fields}
    since = fields["since"].get_col(meta.db_table)
    convert = connection.ops.get_db_converters(since) + since.get_db_converters(connection)
    names = ("rule", "device_type", "device_id", "alert", "since")
    columns = ", ".join(fields[name].column for name in names)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {meta.db_table}")
        rows = cursor.fetchall()
    watches: dict[Key, Held] = {}
    for rule, kind, subject, alert, at in rows:
        for converter in convert:
            at = converter(at, since, connection)
        watches[(rule, kind, subject)] = (alert, at)
    return watches


_MIRROR = _Mirror()


def forget_rules(*args: Any, **kwargs: Any) -> None:
    """``post_save``/``post_delete`` receiver of rules (and the tests' reset): read all again."""
    _MIRROR.invalidate()


def watch_saved(sender: Any, instance: AlertWatch, **kwargs: Any) -> None:
    """``post_save`` receiver of watches."""
    _MIRROR.saved(sender, instance)


def watch_deleted(sender: Any, instance: AlertWatch, **kwargs: Any) -> None:
    """``post_delete`` receiver of watches."""
    _MIRROR.deleted(sender, instance)


def _enabled_rules(trigger: str) -> list[AlertRule]:
    return [r for r in _MIRROR.current(fresh=True) if trigger in r.rule_kind.triggers]


def _changes(rule: AlertRule, held: Held | None, observation: Observation, at: datetime) -> bool:
    """Whether stepping the rule from the mirrored watch would change anything (no watch and
    nothing wrong, a pending condition still short of its delay, an active alert still holding:
    no)."""
    if held is None:
        return observation.bad
    alert_id, since = held
    decision = decide(alert_id is not None, since, observation, at, rule.raise_after_s, rule.clear_after_s)
    return decision.event is not None or decision.since != since or decision.active != (alert_id is not None)


def _watches(subjects: Iterable[tuple[str, str]], rules: list[AlertRule]) -> dict[Key, AlertWatch]:
    """The watches of these subjects (with their active alerts), from the database."""
    wanted = [Q(device_type=t, device_id=i) for t, i in sorted(set(subjects))]
    if not wanted:
        return {}
    rows = AlertWatch.objects.filter(reduce(or_, wanted), rule__in=rules).select_related("alert")
    return {(w.rule_id, w.device_type, w.device_id): w for w in rows}


def apply(rule: AlertRule, finding: Finding, watch: AlertWatch | None, at: datetime) -> str | None:
    """Step one rule for one subject and store what changed; returns "raised", "cleared" or None."""
    active = watch is not None and watch.alert_id is not None
    since = watch.since if watch is not None else None
    decision = decide(active, since, finding.observation, at, rule.raise_after_s, rule.clear_after_s)
    if decision.event == "raised":
        services.alert_raise(rule, finding, at, watch)
    elif decision.event == "cleared":
        assert watch is not None
        services.alert_clear(watch, finding.observation.values, at)
    elif watch is None and (decision.active or decision.since):
        services.watch_start(rule, finding, decision.since)
    elif watch is not None and not decision.active and decision.since is None:
        watch.delete()
    elif watch is not None and watch.since != decision.since:
        watch.since = decision.since
        watch.save(update_fields=["since"])
    return decision.event


def _apply_all(pairs: list[tuple[AlertRule, Finding]], at: datetime) -> int:
    """Step each (rule, finding) that the mirror says would change something, on its watch as
    the database has it now."""
    watches = _MIRROR.watches
    due = [(rule, f) for rule, f in pairs
           if _changes(rule, watches.get((rule.pk, f.subject_type, f.subject_id)), f.observation, at)]
    if not due:
        return 0
    found = _watches(((f.subject_type, f.subject_id) for _, f in due), [r for r, _ in due])
    keys = [(rule.pk, f.subject_type, f.subject_id) for rule, f in due]
    _MIRROR.read_back(keys, found)
    changes = 0
    for (rule, finding), key in zip(due, keys, strict=True):
        changes += apply(rule, finding, found.get(key), at) is not None
    return changes


def evaluate_poll(device_type: str, device_id: str, system_id: str, ts: datetime,
                  detail_ts: datetime | None = None, rows: RowSet | None = None) -> int:
    """Evaluate the rules that watch this device on the rows its poll at ``ts`` wrote (a pack's
    unit and cell rows at ``detail_ts``, the start of their detail interval): ``rows`` as the
    poll wrote them, else read back.

    Given rows within every limit of the device's rules (:class:`alerts.data.Screen`), with no
    watch of theirs in progress, change nothing: that is most polls, and they run no check.
    Otherwise each rule's check compares the poll's numbers with its limits; only a rule whose
    state would change (by the mirrored watches) is looked up in the database and stepped, with
    its values.
    """
    mirror = _MIRROR
    if _clock() - mirror.checked_at > RECHECK_S:
        mirror.current()
    plan = mirror.plans.get((device_type, device_id, system_id)) or mirror.plan(device_type, device_id,
                                                                                 system_id)
    if not plan.steps:
        return 0
    screen = plan.screen
    if (rows is not None and screen is not None and (plan.idle_at == mirror.version or plan.idle(mirror))
            and screen.passes(rows)):
        return 0
    data = DeviceData(device_type, device_id, system_id, ts, detail_ts, rows)
    watches = mirror.watches
    due: list[tuple[AlertRule, Finding]] = []
    for rule, check, key in plan.steps:
        verdict = check(rule, data)
        if verdict is None:
            continue
        held = watches.get(key)
        if held is None:
            if not verdict[0]:
                continue  # nothing wrong, nothing in progress
        elif not _changes(rule, held, Observation(verdict[0], verdict[1], _QUIET), ts):
            continue  # still waiting out a delay, or still active
        observation = Observation(verdict[0], verdict[1], rule.rule_kind.values(rule, data))
        due.append((rule, Finding(key[1], key[2], system_id, observation)))
    if not due:
        return 0
    return _apply_all(due, ts)


def evaluate_periodic(now: datetime | None = None) -> int:
    """Evaluate the periodic rules (offline devices, disk space, collectors) over all their subjects."""
    now = now or timezone.now()
    changes = 0
    for rule in _enabled_rules(Trigger.PERIODIC):
        watches = {(w.device_type, w.device_id): w
                   for w in AlertWatch.objects.filter(rule=rule).select_related("alert")}
        seen = set()
        for finding in rule.rule_kind.scan(rule, now):
            key = (finding.subject_type, finding.subject_id)
            seen.add(key)
            changes += apply(rule, finding, watches.get(key), now) is not None
        kind = rule.rule_kind
        if kind.clears_unseen:
            changes += _drop_unseen([w for key, w in watches.items()
                                     if key not in seen and kind.covers(w.device_id)], now)
    return changes


def _drop_unseen(watches: list[AlertWatch], now: datetime) -> int:
    """Subjects a full scan no longer reports (removed or disabled devices) stop being watched."""
    cleared = 0
    for watch in watches:
        if watch.alert_id is not None:
            services.alert_clear(watch, {"reason": "no longer monitored"}, now)
            cleared += 1
        else:
            watch.delete()
    return cleared


def evaluate_rollup(system_id: str, day: date, glitches: dict[tuple[str, str], int]) -> int:
    """Evaluate the rollup rules (counter glitches) on what a rollup of one local day counted."""
    rules = _enabled_rules(Trigger.ROLLUP)
    if not rules:
        return 0
    now = timezone.now()
    tz = System.objects.filter(pk=system_id).values_list("timezone", flat=True).first() or "UTC"
    rollup = RollupData(system_id, day, day == now.astimezone(ZoneInfo(tz)).date(), glitches)
    pairs = [(rule, f) for rule in rules for f in rule.rule_kind.observe_rollup(rule, rollup)]
    return _apply_all(pairs, now)
