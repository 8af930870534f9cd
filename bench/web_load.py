"""Web latency under load while polling goes on: 20 clients on the live, hierarchy and status endpoints.

Starts the demo installation (``manage.py demo``: simulators, worker, beat and gunicorn, as
``make run`` does) in a temporary data directory, waits until every device is online, then
runs ``--clients`` threads for ``--seconds``, each with its own keep-alive connection and its
own API token, requesting in turn:

- ``/api/systems/system/live/`` (what the overview polls),
- ``/api/systems/system/hierarchy/`` (the whole tree with each device's latest values),
- ``/api/device-status/`` (every device's polling state).

It prints p50/p95/p99 and the slowest answer per endpoint and overall, requests per second,
and, to show polling is unaffected, the inverter samples written during the load against
those written in an equal window before it, and the oldest live reading seen.

Run: ``.venv/bin/python bench/web_load.py [--clients 20] [--seconds 30] [--baseline main]``;
``--baseline REF`` first measures the source tree of a git ref the same way, so a change is
compared with what it changes on one machine in one run. ``--workers``/``--threads`` override
the web server's settings. Exits 1 when the target is not met.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.setup.services import free_port  # noqa: E402

ENDPOINTS = ["/api/systems/system/live/", "/api/systems/system/hierarchy/", "/api/device-status/"]
TARGET_P95_MS = 300.0
CLIENT_PROCESSES = 4


def _manage(root: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=root, check=True,
                          capture_output=True, text=True, timeout=300).stdout


def _get(port: int, path: str, token: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def _wait_until_live(port: int, token: str, demo: subprocess.Popen[bytes], within_s: float = 300) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            raise SystemExit("the demo exited before it was live")
        try:
            status, body = _get(port, ENDPOINTS[0], token)
            live = json.loads(body) if status == 200 else {}
            devices = live.get("devices") or []
            if live.get("live") and devices and all(d["state"] == "online" for d in devices):
                return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit("the demo did not go live in time")


def _inverter_samples(db: Path, since_s: float, until_s: float) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        row = conn.execute("SELECT count(*) FROM energy_samples WHERE ts >= datetime(?, 'unixepoch') "
                           "AND ts < datetime(?, 'unixepoch')", (since_s, until_s)).fetchone()
    return int(row[0])


def _client(port: int, token: str, stop_at: float, results: dict[str, list[float]], errors: list[str],
            ages: list[float], offset: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Token {token}"}
    turn = offset
    while time.monotonic() < stop_at:
        path = ENDPOINTS[turn % len(ENDPOINTS)]
        turn += 1
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{path}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        results[path].append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            errors.append(f"{path}: HTTP {response.status}")
        elif path == ENDPOINTS[0]:
            ages.append(float(json.loads(body).get("age_s") or 0))
    conn.close()


def _web_cpu_s(port: int) -> float:
    """CPU seconds used so far by the gunicorn processes serving ``port`` (master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if b"solarmon.wsgi" not in cmdline or f"127.0.0.1:{port}".encode() not in cmdline:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def _client_group(port: int, tokens: list[str], offsets: list[int], seconds: float
                  ) -> tuple[dict[str, list[float]], list[str], list[float]]:
    """Some of the clients, as threads of one process; returns their latencies, errors and ages."""
    results: dict[str, list[float]] = {path: [] for path in ENDPOINTS}
    errors: list[str] = []
    ages: list[float] = []
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=_client, args=(port, token, stop_at, results, errors, ages, offset))
               for token, offset in zip(tokens, offsets, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors, ages


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


Results = dict[str, list[float]]
# latencies by endpoint, errors, ages of the live readings served, the web server's CPU seconds,
# and inverter samples written in the quiet and in the loaded window
Measured = tuple[Results, list[str], list[float], float, int, int]


def _load(root: Path, args: argparse.Namespace) -> Measured:
    """One installation from the source tree ``root``, measured quiet and then under load."""
    data = Path(tempfile.mkdtemp(prefix="solarmon-web-load-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({"SOLARMON_DATA_DIR": str(data), "SOLARMON_PORT": str(port), "SECRET_KEY": "bench-" + "x" * 44,
                "SOLARMON_CONFIG": str(data / "absent.yaml"), "SOLARMON_DISCOVERY_SCAN_SYSTEM_PORTS": "false",
                "SOLARMON_LOG_LEVEL": "WARNING"})
    if args.workers:
        env["SOLARMON_WEB_WORKERS"] = str(args.workers)
    if args.threads:
        env["SOLARMON_WEB_THREADS"] = str(args.threads)
    _manage(root, env, "migrate", "--noinput", "-v", "0")
    _manage(root, env, "create_admin")
    # One token per client, as `manage.py create_token admin` makes them, in one process.
    # (The shell may print a line of its own first: the tokens are on the last line.)
    tokens = _manage(root, env, "shell", "-v", "0", "-c", (
        "from django.contrib.auth.models import User; from knox.models import AuthToken; "
        "admin = User.objects.get(username='admin'); "
        f"print(*(AuthToken.objects.create(user=admin)[1] for _ in range({args.clients})))"
    )).strip().splitlines()[-1].split()
    demo = subprocess.Popen([sys.executable, "manage.py", "demo"], env=env, cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_until_live(port, tokens[0], demo)
        time.sleep(args.seconds)  # a quiet window to compare polling with
        quiet_start = time.time() - args.seconds
        cpu_before = _web_cpu_s(port)
        load_start = time.time()
        # Clients in several processes: in one, the GIL would queue the clients themselves and
        # count that as server latency.
        groups = [list(range(i, args.clients, CLIENT_PROCESSES)) for i in range(CLIENT_PROCESSES)]
        with multiprocessing.Pool(CLIENT_PROCESSES) as pool:
            parts = pool.starmap(_client_group, [(port, [tokens[i] for i in g], g, args.seconds)
                                                 for g in groups if g])
        load_end = time.time()
        web_cpu_s = _web_cpu_s(port) - cpu_before
        results: Results = {path: [] for path in ENDPOINTS}
        errors: list[str] = []
        ages: list[float] = []
        for part_results, part_errors, part_ages in parts:
            for path, values in part_results.items():
                results[path] += values
            errors += part_errors
            ages += part_ages
        db = data / "solarmon.sqlite3"
        quiet = _inverter_samples(db, quiet_start, load_start)
        loaded = _inverter_samples(db, load_start, load_end)
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        demo.wait(60)
        shutil.rmtree(data, ignore_errors=True)
    return results, errors, ages, web_cpu_s, quiet, loaded


def _report(label: str, args: argparse.Namespace, measured: Measured) -> float:
    """Print one installation's figures; returns its p95 over all requests."""
    results, errors, ages, web_cpu_s, quiet, loaded = measured
    every = [ms for values in results.values() for ms in values]
    print(f"{label}: {args.clients} clients for {args.seconds:.0f} s against gunicorn "
          f"({os.cpu_count()} cores; the demo's simulators, worker and beat on the same machine); "
          f"uptime: {_uptime()}")
    print(f"{'endpoint':<36} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for path, values in [*results.items(), ("all", every)]:
        if values:
            print(f"{path:<36} {len(values):>8} {statistics.median(values):>8.0f} {_pct(values, 95):>8.0f} "
                  f"{_pct(values, 99):>8.0f} {max(values):>8.0f}")
    print(f"throughput: {len(every) / args.seconds:.0f} requests/s; errors: {len(errors)}"
          + (f" (first: {errors[0]})" if errors else ""))
    if every:
        per_request_ms = web_cpu_s * 1000 / len(every)
        print(f"web server CPU: {per_request_ms:.1f} ms per request (gunicorn processes' own CPU time), "
              f"so at most {1000 / per_request_ms * (os.cpu_count() or 1):.0f} requests/s on "
              f"{os.cpu_count()} idle cores; load average during the run: {os.getloadavg()[0]:.1f}")
    print(f"polling: {quiet} inverter samples in the quiet {args.seconds:.0f} s, {loaded} under load "
          f"({loaded / max(quiet, 1):.0%} of quiet); "
          f"oldest live reading served: {max(ages, default=0):.1f} s")
    p95 = _pct(every, 95) if every else float("inf")
    verdict = "met" if p95 <= TARGET_P95_MS else "NOT met"
    print(f"target p95 <= {TARGET_P95_MS:.0f} ms overall: {verdict} ({p95:.0f} ms)")
    return p95


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _checkout(ref: str) -> Path:
    """The source tree of git ``ref``, extracted to a temporary directory."""
    tree = Path(tempfile.mkdtemp(prefix="solarmon-web-load-src-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn processes (default: the setting's)")
    parser.add_argument("--threads", type=int, default=0, help="threads per process (default: the setting's)")
    parser.add_argument("--baseline", metavar="GIT_REF",
                        help="first measure the source tree of this git ref (e.g. main) the same way")
    args = parser.parse_args()
    if args.baseline:
        tree = _checkout(args.baseline)
        try:
            _report(f"baseline {args.baseline}", args, _load(tree, args))
        finally:
            shutil.rmtree(tree, ignore_errors=True)
        print()
    p95 = _report("this tree", args, _load(ROOT, args))
    return 0 if p95 <= TARGET_P95_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
