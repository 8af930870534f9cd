"""`manage.py demo` (what `make run` starts): live simulated data over the API, then a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.setup.services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[2]


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=120)
    return done.stdout


def _get(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.loads(response.read()))


def test_demo_serves_live_simulated_data_and_stops_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({"SOLARMON_DATA_DIR": str(tmp_path), "SOLARMON_PORT": str(port), "SECRET_KEY": "x" * 50,
                "SOLARMON_CONFIG": str(tmp_path / "absent.yaml"),
                # Discovery at start-up must not probe this machine's own serial ports.
                "SOLARMON_DISCOVERY_SCAN_SYSTEM_PORTS": "false"})
    _manage(env, "migrate", "--noinput", "-v", "0")
    assert "password:" in _manage(env, "create_admin")
    assert "An admin login exists" in _manage(env, "create_admin")  # the password is shown once
    token = _manage(env, "create_token", "admin").split()[2]
    demo = subprocess.Popen([sys.executable, "manage.py", "demo"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    started = time.monotonic()
    live: dict[str, Any] = {}
    try:
        while time.monotonic() - started < 90:
            assert demo.poll() is None, demo.stdout.read() if demo.stdout else ""
            try:
                live = _get(f"http://127.0.0.1:{port}/api/systems/system/live/", token)
            except OSError:
                live = {}
            devices = live.get("devices") or []
            if live.get("live") and all(d["state"] == "online" for d in devices) and len(devices) == 6:
                break
            time.sleep(1)
        waited = time.monotonic() - started
        assert live.get("live") is True, live
        assert live["grid_source"] == "meter"
        assert waited < 60, f"live data took {waited:.0f} s"
        # Anonymous visitors see only the health check.
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/systems/", timeout=5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/", timeout=5) as response:
            assert response.status == 200
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        output = demo.communicate(timeout=60)[0]
    assert demo.returncode == 0, output[-2000:]
    assert "solarmon stopped" in output
    leftovers = subprocess.run(["pgrep", "-f", f"runserver 127.0.0.1:{port}"], capture_output=True)
    assert leftovers.returncode == 1, "the web server outlived the demo"
