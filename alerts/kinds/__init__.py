"""The rule-kind registry: kind name → evaluator class (like the adapter-type registry).

A new kind is one small class in a module of this package, decorated with ``@register``, and
listed in ``_MODULES``. Rules name their kind by this string, so adding a kind needs no
migration (the field's choices are read from here); a default rule for it is one entry in
``alerts.defaults``, created on the next migrate.

Each kind says when it looks (``triggers``) and implements the matching method: ``observe`` for
a poll's rows, ``scan`` for the periodic look over all its subjects, ``observe_rollup`` for a
rollup's counts. A subject need not be a device: ``host`` (disk space) and ``collector`` are
subject types (the kind's ``subject_type``): ``collector_down`` is a periodic kind whose ``scan``
yields one finding per collector from its last heartbeat, with ``clears_unseen`` so a removed
collector clears.
"""

from __future__ import annotations

import importlib

from alerts.kinds.base import RuleKind

RULE_KINDS: dict[str, RuleKind] = {}

_MODULES = ("alerts.kinds.devices", "alerts.kinds.battery", "alerts.kinds.grid", "alerts.kinds.counters",
            "alerts.kinds.host", "alerts.kinds.collectors")


def register(cls: type[RuleKind]) -> type[RuleKind]:
    """Class decorator: add a rule kind to the registry under ``cls.kind``."""
    if cls.kind in RULE_KINDS:
        raise ValueError(f"rule kind {cls.kind!r} is registered twice")
    RULE_KINDS[cls.kind] = cls()
    return cls


def _load() -> None:
    for name in _MODULES:
        importlib.import_module(name)


def rule_kind(kind: str) -> RuleKind:
    """The evaluator of ``kind``; KeyError for an unknown kind."""
    if not RULE_KINDS:
        _load()
    return RULE_KINDS[kind]


def all_kinds() -> dict[str, RuleKind]:
    if not RULE_KINDS:
        _load()
    return RULE_KINDS


def kind_choices() -> list[tuple[str, str]]:
    """(kind, label) pairs: the choices of ``AlertRule.kind``."""
    return [(name, kind.label) for name, kind in sorted(all_kinds().items())]
