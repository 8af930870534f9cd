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
from collections.abc import Iterable
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
from alerts.data import DeviceData
from alerts.kinds.base import Finding, Observation, RollupData
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


# How stale this process's view of the rules and of which watches exist may be: a rule edited or
# a watch started in another process (the web, another collector) is seen within this time. A
# poll whose observation is bad always reads the watches it touches.
RECHECK_S = 2.0


class _RuleCache:
    """The enabled rules, and which (rule, subject) pairs have a watch, kept per process.

    Every poll asks for both, a hundred times a second at 500 devices, and nearly always the
    answer is "the same rules, no watch": so they are read again (two small queries) at most
    every ``RECHECK_S``, at once after a rule or a watch is saved in this process, and the
    process's own evaluations keep the set of watches up to date as they change it. A poll with
    nothing wrong and nothing in progress then makes no query at all.
    """

    def __init__(self) -> None:
        self.stamp: tuple[Any, ...] | None = None
        self.rules: list[AlertRule] = []
        self.watched: set[Key] = set()
        self.checked_at = -math.inf
        self.polled: dict[tuple[str, str, str], list[AlertRule]] = {}  # a device's poll rules

    def poll_rules(self, device_type: str, device_id: str, system_id: str) -> list[AlertRule]:
        """The enabled rules a poll of this device is evaluated against (:meth:`current` first)."""
        key = (device_type, device_id, system_id)
        found = self.polled.get(key)
        if found is None:
            found = self.polled[key] = [r for r in self.rules if Trigger.POLL in r.rule_kind.triggers
                                        and r.applies_to(device_type, device_id, system_id)]
        return found

    def current(self, *, fresh: bool = False) -> tuple[list[AlertRule], set[Key]]:
        """The enabled rules and the watched (rule id, subject type, subject id) triples."""
        if fresh or time.monotonic() - self.checked_at > RECHECK_S:
            self._read()
        return self.rules, self.watched

    def _read(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*), MAX(updated_at), SUM(id) FROM {AlertRule._meta.db_table}")
            stamp = tuple(cursor.fetchone() or (0, None, None))
            cursor.execute(f"SELECT rule_id, device_type, device_id FROM {AlertWatch._meta.db_table}")
            watched = {(int(rule), str(kind), str(subject)) for rule, kind, subject in cursor.fetchall()}
        if stamp != self.stamp:
            self.rules = list(AlertRule.objects.filter(enabled=True))
            self.stamp = stamp
            self.polled = {}
        self.watched = watched
        self.checked_at = time.monotonic()

    def invalidate(self, *args: Any, **kwargs: Any) -> None:
        """Read again at the next use (a ``post_save``/``post_delete`` receiver of rules and watches)."""
        self.checked_at = -math.inf
        self.stamp = None


_RULES = _RuleCache()
forget_rules = _RULES.invalidate


def _enabled_rules(trigger: str) -> list[AlertRule]:
    return [r for r in _RULES.current(fresh=True)[0] if trigger in r.rule_kind.triggers]


def _watches(subjects: Iterable[tuple[str, str]], rules: list[AlertRule]) -> dict[Key, AlertWatch]:
    """The watches of these subjects (with their active alerts)."""
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
    key = (rule.pk, finding.subject_type, finding.subject_id)
    if decision.active or decision.since is not None:  # a watch exists from here on
        _RULES.watched.add(key)
    else:
        _RULES.watched.discard(key)
    return decision.event


def _apply_all(pairs: list[tuple[AlertRule, Finding]], at: datetime, look: bool = True) -> int:
    """Step each (rule, finding); ``look=False`` when it is known that none has a watch."""
    subjects = ((f.subject_type, f.subject_id) for _, f in pairs)
    watches = _watches(subjects, [r for r, _ in pairs]) if look else {}
    changes = 0
    for rule, finding in pairs:
        watch = watches.get((rule.pk, finding.subject_type, finding.subject_id))
        changes += apply(rule, finding, watch, at) is not None
    return changes


def evaluate_poll(device_type: str, device_id: str, system_id: str, ts: datetime,
                  detail_ts: datetime | None = None, rows: RowSet | None = None) -> int:
    """Evaluate the rules that watch this device on the rows its poll at ``ts`` wrote (a pack's
    unit and cell rows at ``detail_ts``, the start of their detail interval): ``rows`` as the
    poll wrote them, else read back.

    Nothing is read or written while every observation is fine and no watch is in progress
    for the device (the process's cached rules and watches say so).
    """
    watched = _RULES.current()[1]
    rules = _RULES.poll_rules(device_type, device_id, system_id)
    if not rules:
        return 0
    data = DeviceData(device_type, device_id, system_id, ts, detail_ts, rows)
    pairs = []
    look = False
    for rule in rules:
        kind = rule.rule_kind
        observation = kind.observe(rule, data)
        if observation is not None:
            subject_type, subject_id = kind.subject(device_type, device_id, system_id)
            pairs.append((rule, Finding(subject_type, subject_id, system_id, observation)))
            look = look or observation.bad or (rule.pk, subject_type, subject_id) in watched
    if not look:  # all fine and nothing in progress: stepping the rules would change nothing
        return 0
    return _apply_all(pairs, ts)


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
