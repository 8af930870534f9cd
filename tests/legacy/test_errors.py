"""Input that cannot be imported: a clear error naming the file (and the table and row), nothing written."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from catalog import models as cm
from legacy.models import LegacyImport
from telemetry import models as t
from tests.legacy.conftest import import_legacy
from tests.legacy.original_db import EXAMPLE

pytestmark = [pytest.mark.timeout(60)]


def _refused(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        import_legacy(*args)
    assert not cm.System.objects.exists() and not t.EnergySample.objects.exists()
    assert not LegacyImport.objects.exists()
    return str(caught.value)


def test_a_file_that_is_not_sqlite_is_refused(transactional_db: None, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("mqtt:\n  host: 192.168.1.5\n")
    message = _refused(str(path))
    assert f"{path}: not an SQLite database" in message and "nothing was written" in message


def test_a_database_of_another_program_is_an_unknown_shape(transactional_db: None, tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE readings (ts TEXT, value REAL)")
    message = _refused(str(path))
    assert f"{path}: unknown shape: none of the original system's sample tables" in message


def test_a_sample_table_without_its_device_column_is_an_unknown_shape(transactional_db: None,
                                                                       tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE energy_samples (ts TEXT, device TEXT)")
    assert "table energy_samples has no column inverter_id" in _refused(str(path))


def test_a_corrupt_database_is_refused(transactional_db: None, tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    shutil.copyfile(EXAMPLE, path)
    with path.open("r+b") as handle:
        handle.seek(200 * 4096)
        handle.write(b"\x00garbage" * 4096)
    message = _refused(str(path))
    assert f"{path}: the database is corrupt" in message


def test_a_locked_database_is_refused(transactional_db: None, example: Path) -> None:
    holder = sqlite3.connect(example, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        message = _refused(str(example))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "the database is locked" in message and "still running" in message


def test_an_unreadable_timestamp_names_table_and_row(transactional_db: None, example: Path) -> None:
    with sqlite3.connect(example) as conn:
        conn.execute("UPDATE battery_cell_samples SET ts = 'yesterday' WHERE rowid = 1234")
    message = _refused(str(example))
    assert f"{example}: table battery_cell_samples, row 1234: ts 'yesterday' is not a timestamp" in message


def test_a_timestamp_with_a_garbled_fraction_is_refused_not_stored(transactional_db: None,
                                                                   example: Path) -> None:
    # F1's length, but no fraction where F1 has it: refused (it would be stored as it is).
    with sqlite3.connect(example) as conn:
        conn.execute("UPDATE energy_samples SET ts = '2026-01-20 12:30:35.0x9905+05:00' WHERE rowid = 99")
    message = _refused(str(example))
    assert "table energy_samples, row 99: ts '2026-01-20 12:30:35.0x9905+05:00' is not a timestamp" in message


def test_a_sample_that_cannot_be_placed_names_table_and_row(transactional_db: None, example: Path) -> None:
    with sqlite3.connect(example) as conn:
        conn.execute("UPDATE battery_unit_samples SET power = 0 WHERE rowid = 7")
    message = _refused(str(example))
    assert "table battery_unit_samples, row 7: battery number (power)" in message
    with sqlite3.connect(example) as conn:
        conn.execute("UPDATE battery_unit_samples SET power = 1 WHERE rowid = 7")
        conn.execute("UPDATE meter_samples SET meter_id = 'grid meter #1' WHERE rowid = 5")
    message = _refused(str(example))
    assert "table meter_samples names the device 'grid meter #1', which is not a valid id" in message
