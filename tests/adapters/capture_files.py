"""Loaders for the real device captures in ``tests/adapters/captures`` (provenance in its README).

Plain functions, no fixtures: the capture tests of every adapter use them.
"""

from __future__ import annotations

import re
from pathlib import Path

CAPTURES = Path(__file__).parent / "captures"


def capture_path(relative: str) -> Path:
    return CAPTURES / relative


def hex_capture(relative: str) -> bytes:
    """A ``*.hex`` capture: ``#`` lines are provenance, the rest is space-separated hex."""
    lines = capture_path(relative).read_text().splitlines()
    return bytes.fromhex(" ".join(line for line in lines if not line.startswith("#")))


def pdu_frames(relative: str) -> list[bytes]:
    """The frames of an esphome ``docs/pdus`` file, in any of its three layouts.

    One frame per line (``0x55 0xAA ...`` or ``55 AA ...``), or transposed: one line per byte
    offset, either ``<offset>  <byte of frame 1> <byte of frame 2> ...`` or the bytes of all
    frames run together (``5555...``).
    """
    lines = [line.strip() for line in capture_path(relative).read_text().splitlines() if line.strip()]
    if "transposed" not in relative:
        return [bytes.fromhex(line.replace("0x", "").replace(",", " ")) for line in lines]
    rows = []
    for line in lines:
        indexed = re.fullmatch(r"(\d+)\s+(.*)", line)
        rows.append(bytes.fromhex(indexed.group(2) if indexed else line))
    return [bytes(row[i] for row in rows) for i in range(len(rows[0]))]


def console_replies(folder: str) -> dict[str, bytes]:
    """Each console capture of ``folder`` by the command it answers (``bat_1.txt`` → ``bat 1``)."""
    return {path.stem.replace("_", " "): path.read_bytes()
            for path in sorted(capture_path(folder).glob("*.txt"))}
