"""A progress bar on a terminal stream: rows done, rows per second and the time left."""

from __future__ import annotations

import time
from typing import Protocol


class Stream(Protocol):
    """Where the bar is drawn (a terminal, or anything with write and flush)."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...

WIDTH = 30


class ProgressBar:
    """Redraws one line at most a few times a second; ``finish`` ends it."""

    def __init__(self, stream: Stream, total: int, every_s: float = 0.25, unit: str = "rows") -> None:
        self.stream = stream
        self.unit = unit
        self.total = max(total, 1)
        self.every_s = every_s
        self.began = time.monotonic()
        self.done = 0
        self._drawn = 0.0

    def advance(self, rows: int, label: str) -> None:
        """Count ``rows`` more and redraw when it is time."""
        self.done += rows
        now = time.monotonic()
        if now - self._drawn >= self.every_s or self.done >= self.total:
            self._drawn = now
            self.stream.write("\r" + self.line(label, now))
            self.stream.flush()

    def line(self, label: str, now: float | None = None) -> str:
        """``[####......] 1,234,567/3,000,000 rows  250,000 rows/s  ETA 7 s  energy_samples``."""
        elapsed = max((now or time.monotonic()) - self.began, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        filled = min(WIDTH, WIDTH * self.done // self.total)
        return (f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done:,}/{self.total:,} {self.unit}  "
                f"{rate:,.{1 if rate < 100 else 0}f} {self.unit}/s  ETA {_duration(left)}  {label:<28}")

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
