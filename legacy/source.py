"""Opening the original system's SQLite file read-only and telling which shape it is in.

The original grew its schema at every start (``ALTER TABLE ADD COLUMN``), so a file is read by
its columns (``PRAGMA table_info``), never by assumption. Three shapes exist: before the
original's hierarchy migration (no ``system_id`` anywhere, no catalog tables), after it (catalog
tables filled), and half-migrated (the migration failed part-way on the first start of a fresh
file: catalog tables present but empty). A file without any of its sample tables is not one of
the original's databases.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
SAMPLE_TABLES = ("energy_samples", "array_samples", "meter_samples", "battery_bank_samples",
                 "battery_unit_samples", "battery_cell_samples")
# The columns every row of a sample table has in all of the original's versions.
REQUIRED = {
    "energy_samples": ("ts", "inverter_id"),
    "array_samples": ("ts", "array_id"),
    "meter_samples": ("ts", "meter_id"),
    "battery_bank_samples": ("ts", "bank_id"),
    "battery_unit_samples": ("ts", "bank_id", "power"),
    "battery_cell_samples": ("ts", "bank_id", "power", "cell"),
}
CATALOG_TABLES = ("systems", "arrays", "inverters", "battery_arrays", "battery_packs", "meters", "adapters")
BUSY_TIMEOUT_S = 2.0


class LegacyError(Exception):
    """The file cannot be imported; the message names the file and, where known, table and row.

    ``partial`` is set when batches were written before the problem showed (the import then resumes
    from the batch that failed once the file is fixed).
    """

    def __init__(self, message: str, *, partial: bool = False) -> None:
        super().__init__(message)
        self.partial = partial


@dataclass(frozen=True)
class Shape:
    """Which tables and columns the file has, and which of the original's shapes that is."""

    name: str
    columns: dict[str, tuple[str, ...]]

    def has(self, table: str, column: str | None = None) -> bool:
        """Whether the file has ``table`` (and ``column`` in it)."""
        return table in self.columns and (column is None or column in self.columns[table])

    @property
    def sample_tables(self) -> list[str]:
        """The sample tables the file has, in import order."""
        return [table for table in SAMPLE_TABLES if table in self.columns]


def open_source(path: Path) -> sqlite3.Connection:
    """A read-only connection to the original's database, after checking it is one.

    Raises :class:`LegacyError` for a missing file, a file that is not SQLite, a locked or
    corrupt database.
    """
    if not path.is_file():
        raise LegacyError(f"{path}: no such file")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise LegacyError(f"{path}: not an SQLite database (the original system's database is "
                              "~/.solarhub/solarhub.db)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                               isolation_level=None, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise explain(path, exc) from exc
    return conn


def explain(path: Path, exc: sqlite3.Error, where: str = "") -> LegacyError:
    """A :class:`LegacyError` saying what an SQLite error means for the user."""
    text = str(exc)
    at = f" ({where})" if where else ""
    if "locked" in text or "busy" in text:
        return LegacyError(f"{path}: the database is locked{at}; is the original system still running? "
                           "Stop it, then import again")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return LegacyError(f"{path}: the database is corrupt{at}: {text}. Repair a copy with "
                           "`sqlite3 solarhub.db .recover | sqlite3 repaired.db` and import that")
    return LegacyError(f"{path}: cannot read the database{at}: {text}")


def detect_shape(conn: sqlite3.Connection, path: Path) -> Shape:
    """The file's tables, columns and shape; :class:`LegacyError` when it is not the original's."""
    try:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        columns = {table: tuple(row[1] for row in conn.execute(f'PRAGMA table_info("{table}")'))
                   for table in tables}
    except sqlite3.Error as exc:
        raise explain(path, exc, "reading its schema") from exc
    present = [table for table in SAMPLE_TABLES if table in columns]
    if not present:
        raise LegacyError(f"{path}: unknown shape: none of the original system's sample tables "
                          f"({', '.join(SAMPLE_TABLES)}) is in it")
    for table in present:
        missing = [column for column in REQUIRED[table] if column not in columns[table]]
        if missing:
            raise LegacyError(f"{path}: unknown shape: table {table} has no column "
                              f"{', '.join(missing)}")
    return Shape(_shape_name(conn, columns), columns)


def _shape_name(conn: sqlite3.Connection, columns: dict[str, tuple[str, ...]]) -> str:
    if "systems" not in columns or "system_id" not in columns.get("energy_samples", ("system_id",)):
        return "pre-migration"
    filled = any(conn.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone()
                 for table in ("inverters", "battery_packs", "meters") if table in columns)
    if not filled or "array_id" not in columns.get("hourly_energy", ("array_id",)):
        return "half-migrated"
    return "post-migration"
