"""YAML import and export of the catalog (spec §3.2, §7).

The database is the source of truth; a config file is an import/export format and the
first-start seed. An import is checked completely before anything is written and then
applied in one transaction through :func:`catalog.services.save_entity`.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from catalog.yamlconfig.apply import apply_plan
from catalog.yamlconfig.export import export_config
from catalog.yamlconfig.parse import parse_config
from catalog.yamlconfig.plan import make_plan
from catalog.yamlconfig.problems import ImportFailed, Problems
from catalog.yamlconfig.prune import Deletion, collect
from catalog.yamlconfig.report import ImportReport

__all__ = ["ImportFailed", "ImportReport", "export_config", "import_config", "import_text"]


def import_config(path: Path, *, dry_run: bool = False, prune: bool = False, force: bool = False
                  ) -> ImportReport:
    """Import the file at ``path``. Raises ``ImportFailed`` with every problem (nothing written)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed([f"cannot read {path}: {exc}"]) from exc
    return import_text(text, path.name, dry_run=dry_run, prune=prune, force=force)


def import_text(text: str, filename: str, *, dry_run: bool = False, prune: bool = False,
                force: bool = False) -> ImportReport:
    """Import YAML ``text``; ``filename`` is how messages name it."""
    desired = parse_config(text, filename)
    with transaction.atomic():
        plan = make_plan(desired, prune)
        if dry_run:
            deletion = collect(plan.prune_roots)[1] if prune else Deletion()
        else:
            deletion = apply_plan(plan, Problems(filename, desired.lines), prune, force)
    return ImportReport(filename, plan, deletion, dry_run, prune)

