"""`make run`: live simulated data from a production server, parts that restart on their own,
exactly one beat, and nothing left running once it is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.setup.services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=120)
    return done.stdout


def _get(url: str, token: str = "") -> tuple[dict[str, Any], Any]:
    headers = {"Authorization": f"Token {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return dict(json.loads(response.read())), response.headers
    except urllib.error.HTTPError as exc:
        return dict(json.loads(exc.read() or b"{}")), exc.headers


def _pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def _wait(what: str, check: Any, within_s: float, process: subprocess.Popen[str]) -> Any:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        result = check()
        if result:
            return result
        time.sleep(1)
    pytest.fail(f"{what} did not happen within {within_s:.0f} s")


def test_make_run_serves_live_data_from_gunicorn_restarts_parts_and_stops_all(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({"SOLARMON_DATA_DIR": str(tmp_path), "SOLARMON_PORT": str(port), "SECRET_KEY": "x" * 50,
                "SOLARMON_CONFIG": str(tmp_path / "absent.yaml"),
                # Discovery at start-up must not probe this machine's own serial ports.
                "SOLARMON_DISCOVERY_SCAN_SYSTEM_PORTS": "false"})
    env.pop("MAKEFLAGS", None)
    _manage(env, "migrate", "--noinput", "-v", "0")
    assert "password:" in _manage(env, "create_admin")
    assert "An admin login exists" in _manage(env, "create_admin")  # the password is shown once
    token = _manage(env, "create_token", "admin").split()[2]
    run = subprocess.Popen(["make", "--no-print-directory", "run"], env=env, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()

        def live_everywhere() -> dict[str, Any] | None:
            try:
                live, _ = _get(f"{base}/api/systems/system/live/", token)
            except OSError:
                return None
            devices = live.get("devices") or []
            ready = live.get("live") and len(devices) == 6 and all(d["state"] == "online" for d in devices)
            return live if ready else None

        live = _wait("live data from every device", live_everywhere, 90, run)
        assert live["grid_source"] == "meter"
        assert time.monotonic() - started < 75, "live data took too long"

        # The web process is the production server, not Django's runserver.
        _, headers = _get(f"{base}/api/health/")
        assert headers["Server"] == "gunicorn"
        assert not _pids(f"runserver 127.0.0.1:{port}")
        health = _wait("a healthy report", lambda: _get(f"{base}/api/health/")[0].get("status") == "ok",
                       60, run)
        assert health
        # Anonymous visitors see only the health check.
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/api/systems/", timeout=5)

        # A killed worker is started again; the web server does not notice.
        demo_workers = [p for p in _pids("celery -A solarmon worker") if _in_group(p, run.pid)]
        assert len(demo_workers) == 1, demo_workers
        os.kill(demo_workers[0], signal.SIGKILL)
        assert _get(f"{base}/api/health/")[1]["Server"] == "gunicorn"
        _wait("a new worker", lambda: [p for p in _pids("celery -A solarmon worker")
                                       if _in_group(p, run.pid) and p != demo_workers[0]], 30, run)

        # Exactly one beat: a second one, started by hand, refuses to run.
        second = subprocess.run([sys.executable, "-m", "celery", "-A", "solarmon", "beat"], env=env,
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert "another beat is running" in second.stdout + second.stderr
        # Polling goes on after the restart: a fresh reading arrives.
        seen = live["ts"]
        _wait("a new reading after the worker restart",
              lambda: (_get(f"{base}/api/systems/system/live/", token)[0].get("ts") or seen) > seen, 60, run)
    finally:
        os.kill(run.pid, signal.SIGTERM)  # make itself: the demo goes with it, and every part with that
        output = run.communicate(timeout=60)[0]
    time.sleep(2)
    assert "solarmon stopped" in output, output[-3000:]
    assert "the worker exited with status -9" in output
    marker = f"SOLARMON_DATA_DIR={tmp_path}".encode()
    leftovers = [p for p in _pids(".") if marker in _environ(p)]
    assert not leftovers, [_cmdline(p) for p in leftovers]


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _in_group(pid: int, make_pid: int) -> bool:
    """Is ``pid`` a descendant of ``make_pid``?"""
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid == make_pid:
            return True
    return False
