"""What ``--prune`` deletes, found the way Django's own delete finds it (its ``Collector``).

Catalog rows cascade to the sample and rollup rows of other apps. Those are recorded
history, so they are counted separately and never deleted without ``--force``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models.deletion import Collector

from catalog.yamlconfig.desired import TABLES

CATALOG_APP = "catalog"


@dataclass
class Deletion:
    """Rows a prune removes: catalog rows per table (with their ids) and other rows per table."""

    catalog: dict[str, list[str]] = field(default_factory=dict)
    data: Counter[str] = field(default_factory=Counter)

    def catalog_total(self) -> int:
        """Catalog rows deleted, cascades included."""
        return sum(len(ids) for ids in self.catalog.values())


def collect(roots: dict[str, list[Any]]) -> tuple[Collector, Deletion]:
    """Everything that deleting ``roots`` (table → primary keys) would delete, cascades included."""
    collector = Collector(using=DEFAULT_DB_ALIAS)
    for table, pks in roots.items():
        if pks:
            collector.collect(list(TABLES[table]._default_manager.filter(pk__in=pks)))
    deletion = Deletion()
    for model, instances in collector.data.items():
        _record(deletion, model._meta, [instance.pk for instance in instances], len(instances))
    for queryset in collector.fast_deletes:
        meta = queryset.model._meta
        if meta.app_label == CATALOG_APP:
            pks = list(queryset.values_list("pk", flat=True))
            _record(deletion, meta, pks, len(pks))
        else:
            _record(deletion, meta, [], queryset.count())
    return collector, deletion


def _record(deletion: Deletion, meta: Any, pks: list[Any], count: int) -> None:
    if meta.app_label == CATALOG_APP:
        ids = deletion.catalog.setdefault(meta.db_table, [])
        ids.extend(str(pk) for pk in pks if str(pk) not in ids)
    elif count:
        deletion.data[meta.db_table] += count


def describe_data(deletion: Deletion) -> str:
    """``energy_samples: 1200, battery_bank_samples: 40`` (largest first)."""
    return ", ".join(f"{table}: {count}" for table, count in deletion.data.most_common())
