"""Bounding how long SQLite statements run: what keeps a writer's hold on the write lock short."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def interrupted_after(conn: sqlite3.Connection, seconds: float | None) -> Iterator[None]:
    """Interrupt the statements ``conn`` runs inside once ``seconds`` have passed (they fail with
    "interrupted"; the caller rolls back). ``None``: not bounded. Leave the block before COMMIT, so
    a commit is never cut short."""
    if seconds is None:
        yield
        return
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
    try:
        yield
    finally:
        conn.set_progress_handler(None, 0)
