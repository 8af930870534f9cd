"""YAML import and export of the catalog (spec §3.2, §7).

The database is the source of truth; a config file is an import/export format and the
first-start seed. An import is checked completely before anything is written and then
applied in one transaction through :func:`catalog.services.save_entity`.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from catalog.yamlconfig.apply import apply_plan
from catalog.yamlconfig.desired import Desired
from catalog.yamlconfig.export import export_config
from catalog.yamlconfig.loader import Limits, check_size
from catalog.yamlconfig.parse import parse_config
from catalog.yamlconfig.plan import make_plan
from catalog.yamlconfig.problems import ImportFailed, Problems
from catalog.yamlconfig.prune import Deletion, collect
from catalog.yamlconfig.report import ImportReport

__all__ = ["ImportFailed", "ImportReport", "export_config", "import_config", "import_desired", "import_text",
           "read_config"]


def import_config(path: Path, *, dry_run: bool = False, prune: bool = False, force: bool = False,
                  strict: bool = False) -> ImportReport:
    """Import the file at ``path``. Raises ``ImportFailed`` with every problem (nothing written).

    ``strict`` makes what would not be imported (warnings) errors as well.
    """
    return import_text(read_config(path), path.name, dry_run=dry_run, prune=prune, force=force,
                       strict=strict)


def read_config(path: Path) -> str:
    """The text of a config file, refusing one larger than ``SOLARMON_YAML_MAX_BYTES`` unread."""
    problems = Problems(path.name)
    try:
        if check_size(path.stat().st_size, problems, Limits.from_settings()):
            return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed([f"cannot read {path}: {exc}"]) from exc
    raise ImportFailed(problems.messages)


def import_text(text: str, filename: str, *, dry_run: bool = False, prune: bool = False,
                force: bool = False, strict: bool = False) -> ImportReport:
    """Import YAML ``text``; ``filename`` is how messages name it."""
    return import_desired(parse_config(text, filename, strict=strict), filename, dry_run=dry_run,
                          prune=prune, force=force)


def import_desired(desired: Desired, filename: str, *, dry_run: bool = False, prune: bool = False,
                   force: bool = False) -> ImportReport:
    """Write what a parsed file asks for, in one transaction (or only plan it: ``dry_run``)."""
    with transaction.atomic():
        plan = make_plan(desired, prune)
        if dry_run:
            deletion = collect(plan.prune_roots)[1] if prune else Deletion()
        else:
            deletion = apply_plan(plan, Problems(filename, desired.lines), prune, force)
    return ImportReport(filename, plan, deletion, dry_run, prune)

