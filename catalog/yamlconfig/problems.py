"""Collecting import problems, each tied to a YAML path and, where known, its line.

Besides errors (which stop the import), a file can hold things solarmon does not import: the
original system's settings without a counterpart here. Those are warnings (``path: not
imported: why (file line n)``): the import goes on without them, unless it is strict, in which
case they are errors too. Notes say where the import filled something in (a default array).
"""

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
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    strict: bool = False
    warned: set[str] = field(default_factory=set)

    def line_of(self, path: str) -> int | None:
        """The line of ``path``, or of its nearest ancestor the file spells out."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = parent_path(path)
        return None

    def _format(self, path: str, message: str) -> str:
        line = self.line_of(path)
        where = f"{self.filename} line {line}" if line else self.filename
        text = f"{path}: {message}" if path else message
        return f"{text} ({where})"

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path`` (empty for the whole file)."""
        self.messages.append(self._format(path, message))

    def warn(self, path: str, reason: str) -> None:
        """Record that ``path`` is not imported and why (an error when the import is strict).

        A path is reported once (a block skipped for its broken YAML is not reported again).
        """
        if path in self.warned:
            return
        self.warned.add(path)
        text = self._format(path, f"not imported: {reason}")
        (self.messages if self.strict else self.warnings).append(text)

    def note(self, path: str, message: str) -> None:
        """Record something the import filled in (never an error)."""
        self.notes.append(self._format(path, message))

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
