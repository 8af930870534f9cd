"""Helpers for the YAML import/export tests: run the commands, dump the catalog."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from catalog.yamlconfig.desired import TABLES

HERE = Path(__file__).parent
EXAMPLE = HERE.parent.parent / "examples" / "config.yaml"
MALFORMED = HERE / "malformed"


def run(command: str, *args: str) -> str:
    """Run a management command and return what it printed."""
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def catalog_dump() -> dict[str, list[dict[str, Any]]]:
    """Every row of every catalog table, in primary-key order, all columns."""
    return {table: list(model._default_manager.order_by("pk").values()) for table, model in TABLES.items()}


def counts_line(output: str, table: str) -> tuple[int, int, int, int]:
    """(create, update, unchanged, delete) from the report row of ``table``."""
    for line in output.splitlines():
        parts = line.split()
        if parts and parts[0] == table:
            create, update, unchanged, delete = (int(part) for part in parts[1:5])
            return create, update, unchanged, delete
    raise AssertionError(f"no row for {table} in:\n{output}")


@pytest.fixture
def write_yaml(tmp_path: Path) -> Any:
    """Write YAML text to a file in a temporary folder and return its path."""
    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write
