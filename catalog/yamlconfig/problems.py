"""Collecting import problems, each tied to a YAML path and, where known, its line."""

from __future__ import annotations

from dataclasses import dataclass, field


class ImportFailed(Exception):
    """The configuration was rejected; ``problems`` holds every message (nothing was written)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parent_path(path: str) -> str:
    """``inverters[2].adapter.port`` → ``inverters[2].adapter`` → ``inverters[2]`` → ``inverters``."""
    if path.endswith("]"):
        return path[: path.rindex("[")]
    return path.rpartition(".")[0]


@dataclass
class Problems:
    """Every problem found in one file. Messages read ``path: what (file line n)``."""

    filename: str
    lines: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def line_of(self, path: str) -> int | None:
        """The line of ``path``, or of its nearest ancestor the file spells out."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = parent_path(path)
        return None

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path`` (empty for the whole file)."""
        line = self.line_of(path)
        where = f"{self.filename} line {line}" if line else self.filename
        text = f"{path}: {message}" if path else message
        self.messages.append(f"{text} ({where})")

    def add_at_line(self, message: str, line: int, column: int | None = None) -> None:
        """Record a problem that has a position but no path (YAML syntax)."""
        where = f"line {line}, column {column}" if column else f"line {line}"
        self.messages.append(f"{message} ({self.filename} {where})")

    def __bool__(self) -> bool:
        return bool(self.messages)

    def raise_if_any(self) -> None:
        """Stop the import with every problem so far."""
        if self.messages:
            raise ImportFailed(list(self.messages))
