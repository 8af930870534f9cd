"""The supervisor of `make run`: a part that exits is started again; stopping ends its children too."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from solarmon.supervise import Supervisor

pytestmark = pytest.mark.timeout(30)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_part_that_exits_is_started_again_after_a_growing_pause(tmp_path: Path) -> None:
    said: list[str] = []
    supervisor = Supervisor(dict(os.environ), str(tmp_path), said.append)
    supervisor.add("flaky", [sys.executable, "-c", "import sys; sys.exit(3)"])
    supervisor.add("steady", [sys.executable, "-c", "import time; time.sleep(60)"])
    steady_pid = supervisor.parts["steady"].proc.pid
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and supervisor.parts["flaky"].restarts < 2:
        supervisor.check()
        time.sleep(0.1)
    supervisor.stop()
    flaky = supervisor.parts["flaky"]
    assert flaky.restarts >= 2 and flaky.exits[:2] == [3, 3]
    assert flaky.pause_s >= 4  # 1 s, then 2 s, then 4 s
    assert "the flaky exited with status 3; restarting it in 1 s" in said
    assert supervisor.parts["steady"].restarts == 0  # the others carry on
    assert not _alive(steady_pid)


def test_stopping_ends_what_each_part_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    supervisor = Supervisor(dict(os.environ), str(tmp_path), lambda line: None)
    supervisor.add("parent", ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"])
    deadline = time.monotonic() + 5
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert _alive(grandchild)
    supervisor.stop(timeout_s=5)
    time.sleep(0.2)
    assert not _alive(grandchild)
