"""The original's timestamps become UTC in solarmon's text form, each in its own second."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from legacy.tables import TS_BAD, UTC_TS


def _converted(text: str) -> tuple[str, int]:
    with sqlite3.connect(":memory:") as conn:
        row = conn.execute(f"SELECT {UTC_TS}, {TS_BAD} FROM (SELECT ? AS ts) s", (text,)).fetchone()
    converted, bad = row
    return str(converted), int(bad)


@pytest.mark.parametrize("text", [
    "2026-01-20 12:30:35+05:00", "2026-01-20 12:30:35.039905+05:00",
    "2026-01-20 23:59:59.999700+05:00", "2026-01-01 04:59:59.999500+05:00",
    "2026-03-29 01:59:59.999999+01:00", "2026-01-20 12:30:35.000001-07:00",
    "2026-01-20 12:30:35.998999+00:00", "2026-01-20 12:30:35.500000+13:45"])
def test_a_timestamp_keeps_its_second_and_microseconds_in_utc(text: str) -> None:
    # A fraction from .9995 on is where SQLite's parser, rounding to milliseconds, would carry.
    expected = datetime.fromisoformat(text).astimezone(UTC)
    assert _converted(text) == (expected.replace(tzinfo=None).isoformat(sep=" "), 0)
