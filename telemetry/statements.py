"""Running the poll path's plain-SQL statements without re-parsing their text at every call.

Django's SQLite cursor turns a statement's ``%s`` placeholders into SQLite's ``?`` with a
regular expression on every ``execute``: for a sample row's INSERT (some forty columns) that
cost about as much CPU as SQLite's own insert of the row, and a poll runs a few such statements.
Given a mapping of parameters, the same cursor only fills ``%(name)s`` placeholders by string
formatting, which costs a small part of that. So on SQLite a statement written with ``%s`` is
rewritten once to named placeholders (``%(p0)s``, ``%(p1)s``, …; kept per statement text) and
run with its parameters by name. The statement still goes through Django's cursor, so query
logging, ``CaptureQueriesContext``, execute wrappers and error translation see it as before. On
PostgreSQL the statement runs as written: psycopg keeps its own parsed statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

_NAMES = tuple(f"p{i}" for i in range(1000))  # more parameters than this run as written


@lru_cache(maxsize=512)
def _named(sql: str) -> str:
    """``sql`` with its ``%s`` placeholders numbered (``%(p0)s`` …); ``%%`` stays a percent sign."""
    parts = sql.replace("%%", "\0").split("%s")
    out = [parts[0]]
    for name, part in zip(_NAMES, parts[1:], strict=False):
        out.append(f"%({name})s{part}")
    return "".join(out).replace("\0", "%%")


def execute(cursor: Any, sql: str, params: Sequence[Any]) -> None:
    """``cursor.execute(sql, params)`` (a Django cursor) for a statement with ``%s`` placeholders,
    its parameters passed by name on SQLite."""
    if cursor.db.vendor == "sqlite" and 0 < len(params) <= len(_NAMES):
        cursor.execute(_named(sql), dict(zip(_NAMES, params, strict=False)))
    else:
        cursor.execute(sql, params)
