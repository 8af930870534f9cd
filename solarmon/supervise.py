"""Keeping the parts of ``make run`` alive: web server, worker and beat, each on its own.

A part that exits is started again after a short, growing pause (1 s, 2 s, 4 s … 30 s; back
to 1 s once it has run for a minute), and the others carry on. Each part runs in its own
process group, so stopping it also stops what it started (gunicorn's and Celery's own
children), and each is told to stop when the supervisor dies, however it dies, so no part
outlives ``make run``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
MAX_PAUSE_S = 30.0
STABLE_AFTER_S = 60.0


try:
    # Looked up once here: the child calls it between fork and exec, where nothing that may
    # take a lock (an import, a dlopen) is safe while other threads run.
    _PRCTL: Callable[..., int] | None = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: stopping relies on the signals sent on exit
    _PRCTL = None


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``sig`` to this process when its parent exits."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, sig)


@dataclass
class Part:
    """One supervised program."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    pause_s: float = 1.0
    restarts: int = 0
    exits: list[int] = field(default_factory=list)


class Supervisor:
    """Starts parts, restarts those that exit, and stops them all on :meth:`stop`."""

    def __init__(self, env: dict[str, str], cwd: str, say: Callable[[str], None]) -> None:
        self.env, self.cwd, self.say = env, cwd, say
        self.parts: dict[str, Part] = {}

    def add(self, name: str, argv: list[str]) -> None:
        part = Part(name, argv)
        self.parts[name] = part
        self._start(part)

    def _start(self, part: Part) -> None:
        part.proc = subprocess.Popen(part.argv, env=self.env, cwd=self.cwd, start_new_session=True,
                                     preexec_fn=die_with_parent)
        part.started_at, part.restart_at = time.monotonic(), None

    def check(self) -> None:
        """Restart any part that exited, once its pause is over. Call it every half second."""
        now = time.monotonic()
        for part in self.parts.values():
            if part.restart_at is not None:
                if now >= part.restart_at:
                    part.restarts += 1
                    self.say(f"starting the {part.name} again")
                    self._start(part)
                continue
            assert part.proc is not None
            code = part.proc.poll()
            if code is None:
                continue
            part.exits.append(code)
            # The part's own children (gunicorn workers, a Celery pool) go with it.
            self._signal_group(part, signal.SIGKILL)
            if now - part.started_at >= STABLE_AFTER_S:
                part.pause_s = 1.0
            self.say(f"the {part.name} exited with status {code}; restarting it in {part.pause_s:.0f} s")
            part.restart_at = now + part.pause_s
            part.pause_s = min(part.pause_s * 2, MAX_PAUSE_S)

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM every part's process group, then SIGKILL what is left after ``timeout_s``."""
        running = [p for p in self.parts.values() if p.proc is not None and p.proc.poll() is None]
        for part in running:
            self._signal_group(part, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for part in running:
            assert part.proc is not None
            try:
                part.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("the %s did not stop in %.0f s: killing it", part.name, timeout_s)
        for part in self.parts.values():
            self._signal_group(part, signal.SIGKILL)
            if part.proc is not None and part.proc.poll() is None:
                part.proc.wait(5)

    @staticmethod
    def _signal_group(part: Part, sig: int) -> None:
        if part.proc is None:
            return
        try:
            os.killpg(part.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
