"""A real small disk for the disk guard's tests: a tmpfs mounted by the test, and a filler file.

Mounting needs root. Without it the tests that need a small disk are skipped, except under
``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PAGE = 4096


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` ("8m") mounted at ``path`` for the duration."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        why = mounted.stderr.strip() or f"exit status {mounted.returncode}"
        reason = f"cannot mount a tmpfs at {path}: {why} (needs root)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path, leave_bytes: int = 0) -> int:
    """Grow the filler file until ``leave_bytes`` (rounded to pages) are free; returns free bytes."""
    filler = disk / "filler"
    extra = (shutil.disk_usage(disk).free - leave_bytes) // PAGE * PAGE
    if extra > 0:
        with open(filler, "ab") as out:
            os.posix_fallocate(out.fileno(), out.seek(0, os.SEEK_END), extra)
    return shutil.disk_usage(disk).free


def free_space(disk: Path) -> None:
    """Remove the filler file."""
    (disk / "filler").unlink(missing_ok=True)
