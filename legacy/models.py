"""What an import of the original's database has done so far, so an interrupted one resumes.

Each batch of sample rows is written in its own short transaction together with its table's
``last_rowid``, so after a crash (even SIGKILL) the next run starts at the first batch that was
not committed: no row is written twice and none is skipped. Rows already there are never
duplicated anyway (solarmon's sample tables are keyed on time and device).
"""

from __future__ import annotations

from django.db import models


class LegacyImport(models.Model):
    """One of the original's database files, identified by its schema and first rows."""

    fingerprint = models.CharField(max_length=64, unique=True)
    path = models.TextField(help_text="Where the file was when it was imported")
    shape = models.CharField(max_length=32)
    started_at = models.DateTimeField(auto_now_add=True)
    samples_done_at = models.DateTimeField(null=True, blank=True)
    # Local dates whose rollups are recomputed, per system: {"system": "2026-01-20"}.
    rolled_through = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "legacy_imports"

    def __str__(self) -> str:
        return f"{self.path} ({self.shape})"


class LegacyTableProgress(models.Model):
    """How far one sample table of a file has been copied, and what it held."""

    legacy_import = models.ForeignKey(LegacyImport, on_delete=models.CASCADE, related_name="tables")
    table = models.CharField(max_length=64)
    last_rowid = models.BigIntegerField(default=0, help_text="Rows up to this rowid are written")
    rows_read = models.BigIntegerField(default=0)
    rows_written = models.BigIntegerField(default=0, help_text="New rows (the rest were already there)")

    class Meta:
        db_table = "legacy_table_progress"
        constraints = [models.UniqueConstraint(fields=["legacy_import", "table"],
                                               name="uq_legacy_table_progress")]

    def __str__(self) -> str:
        return f"{self.table}: through rowid {self.last_rowid}"
