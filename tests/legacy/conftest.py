"""Fixtures for the import of the original system's database: copies of the example file, and a
runner for the command that returns its report."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.legacy.original_db import EXAMPLE, EXAMPLE_TRUTH


def import_legacy(*args: str) -> str:
    """Run ``manage.py import_legacy`` and return its report (progress goes to a discarded stream)."""
    out = StringIO()
    call_command("import_legacy", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A writable copy of the example database the original's own code wrote."""
    copy = tmp_path / "solarhub.db"
    shutil.copyfile(EXAMPLE, copy)
    return copy


@pytest.fixture(scope="session")
def truth() -> dict[str, Any]:
    """The example's ground truth (analytic integrals of the plant that generated it)."""
    return json.loads(EXAMPLE_TRUTH.read_text())
