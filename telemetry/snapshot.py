"""What the poll path reads of the catalog, kept per process while the catalog is unchanged.

Every ``poll_bus`` task and every dispatch needs the devices' refs (adapters, intervals, owners)
and their systems' trees. Those come from a dozen catalog tables that change a few times a
year, while at 500 devices polls run a hundred times a second; building them from the ORM was
most of a poll's CPU. So a process keeps one :class:`PollCatalog` and asks one question per use:
one aggregate query over those tables' counts and last changes (``catalog.selectors.fingerprint``),
equal while nothing changed, whichever process wrote.

Owners also depend on time (a collector whose heartbeat stops is down): the dispatcher loads the
collectors each run and passes them in, and a change in who is up rebuilds the refs' owners. A
task sees a collector's row change (``updated_at``: its ports, a shutdown, a return after a
missed beat; ``catalog.collectors.collector_heartbeat``); a routine heartbeat leaves it alone,
so it does not rebuild every process's snapshot.

A poll task does not ask at every call: it reuses a snapshot checked less than ``RECHECK_S`` ago.
At hundreds of polls a second that one query (an aggregate over every catalog table, so its cost
grows with the catalog: 0.2 ms at 500 devices on SQLite) was the largest part of a poll's CPU
besides the read. A catalog write made in this process (a model's save or delete: admin, API,
YAML, discovery) is seen by the next task all the same; one made in another process (admin, API,
another host), or by a bulk update, within ``RECHECK_S``, as if it had landed that much later.
The dispatcher always asks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from catalog.collectors import Owners, collector_state
from catalog.selectors import TREE_PARTS, Part, SystemTree, fingerprint, load_system_tree

# Every table a device ref or a system tree is read from, whole (not one system's): aggregates
# that change when a row is added, removed or edited. Rows without ``updated_at`` are replaced
# rather than edited, or their editable columns are summed.
CATALOG_PARTS: list[Part] = [
    # A system tree's tables (catalog.selectors.TREE_PARTS), over every system.
    *((table, False, columns) for table, _, columns in TREE_PARTS),
    # COUNT(collector): adapters pinned to a collector in one UPDATE keep their updated_at.
    ("adapters", False, ["COUNT(*)", "MAX(updated_at)", "COUNT(collector)"]),
    ("adapter_base", False, ["COUNT(*)", "MAX(updated_at)"]),
    ("battery_pack_adapters", False, ["COUNT(*)", "MAX(id)", "SUM(priority)",
                                      "SUM(CASE WHEN enabled THEN 1 ELSE 0 END)"]),
    ("collectors", False, ["COUNT(*)", "MAX(updated_at)"]),
]
RECHECK_S = 1.0


@dataclass
class PollCatalog:
    """Every pollable device's ref by key, and system trees read on first use."""

    mark: tuple[Any, ...]
    owners: tuple[Any, ...]
    refs: dict[str, Any]  # "kind:device_id" → telemetry.polling.DeviceRef
    trees: dict[str, SystemTree | None] = field(default_factory=dict)
    checked_at: float = 0.0  # time.monotonic() of the last fingerprint that matched
    writes: int = 0  # this process's catalog writes counted then (``_WRITES``)

    def tree(self, system_id: str) -> SystemTree | None:
        if system_id not in self.trees:
            self.trees[system_id] = load_system_tree(system_id)
        return self.trees[system_id]


_HELD: list[PollCatalog] = []
_LOCK = threading.Lock()  # worker threads share the snapshot; one of them rebuilds it


def owners_signature(owners: Owners) -> tuple[Any, ...]:
    """What decides every adapter's owner besides its own columns: who is up, with which ports."""
    return (owners.local, tuple((c.name, collector_state(c, owners.now), tuple(c.ports or ()))
                                for c in owners.collectors))


def poll_catalog(owners: Owners | None = None) -> PollCatalog:
    """The devices and trees as the catalog holds them now (while it is unchanged, one query, and
    for a poll task at most one per ``RECHECK_S``).

    ``owners``: the collectors as just read (the dispatcher's); without, the owners of the last
    build stand until the catalog or a collector's row changes.
    """
    from telemetry.polling import device_refs

    held = _HELD[0] if _HELD else None
    if (owners is None and held is not None and held.writes == _WRITES[0]
            and time.monotonic() - held.checked_at < RECHECK_S):
        return held
    writes, checked_at = _WRITES[0], time.monotonic()  # taken before the query: a write meanwhile counts
    mark = fingerprint("", CATALOG_PARTS)
    with _LOCK:
        held = _HELD[0] if _HELD else None
        signature = owners_signature(owners) if owners is not None else None
        if held is not None and held.mark == mark and signature in (None, held.owners):
            held.checked_at, held.writes = checked_at, writes
            return held
        owners = owners or Owners.load(timezone.now())
        refs = {ref.key: ref for ref in device_refs(owners=owners)}
        trees = held.trees if held is not None and held.mark == mark else {}
        fresh = PollCatalog(mark, signature or owners_signature(owners), refs, trees, checked_at, writes)
        _HELD[:] = [fresh]
        return fresh


_WRITES = [0]  # catalog rows saved or deleted in this process: the next poll task checks again


def _catalog_written(sender: Any, **kwargs: Any) -> None:
    if sender._meta.app_label == "catalog":
        _count_write()
        transaction.on_commit(_count_write)  # again once other connections can see it


def _count_write() -> None:
    _WRITES[0] += 1


post_save.connect(_catalog_written, dispatch_uid="telemetry.snapshot.catalog_saved")
post_delete.connect(_catalog_written, dispatch_uid="telemetry.snapshot.catalog_deleted")


def forget_poll_catalog() -> None:
    """Drop the snapshot (tests that rewrite the catalog behind the fingerprint's back)."""
    with _LOCK:
        _HELD.clear()
