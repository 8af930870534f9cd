"""The text an import prints: per table, rows created, updated, unchanged and deleted."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.yamlconfig.plan import CREATE, UNCHANGED, UPDATE, Plan
from catalog.yamlconfig.prune import Deletion, describe_data


@dataclass
class ImportReport:
    """The outcome of one import (or dry run)."""

    filename: str
    plan: Plan
    deletion: Deletion
    dry_run: bool
    prune: bool

    @property
    def created(self) -> int:
        """Rows created (or that would be)."""
        return self.plan.total(CREATE)

    @property
    def updated(self) -> int:
        """Rows updated (or that would be)."""
        return self.plan.total(UPDATE)

    @property
    def unchanged(self) -> int:
        """Rows the file names that already match it."""
        return self.plan.total(UNCHANGED)

    def lines(self) -> list[str]:
        """The table of counts, what is (or would be) deleted, and a one-line summary."""
        verb = "would" if self.dry_run else "did"
        out = [f"warning: {message}" for message in self.plan.desired.warnings]
        out += [f"note: {message}" for message in self.plan.desired.notes]
        out.append(f"{'table':<28}{'create':>8}{'update':>8}{'unchanged':>11}{'delete':>8}")
        for table in self.plan.counts:
            counts = self.plan.counts[table]
            deleted = len(self.deletion.catalog.get(table, [])) if self.prune else 0
            out.append(f"{table:<28}{counts[CREATE]:>8}{counts[UPDATE]:>8}{counts[UNCHANGED]:>11}{deleted:>8}")
        for table, ids in sorted(self.deletion.catalog.items()):
            out.append(f"{verb} delete from {table}: {', '.join(sorted(ids))}")
        if self.deletion.data:
            out.append(f"{verb} delete recorded data along with them: {describe_data(self.deletion)}")
        outcome = "dry run, nothing written" if self.dry_run else "imported"
        deleted = self.deletion.catalog_total() if self.prune else 0
        warned = len(self.plan.desired.warnings)
        out.append(f"{self.filename}: {outcome}: {self.created} created, {self.updated} updated, "
                   f"{self.unchanged} unchanged, {deleted} deleted"
                   + (f"; {warned} not imported (warnings above)" if warned else ""))
        return out
