"""Start the services the tests need (Redis, PostgreSQL, Mosquitto) on private ports, run a command.

    python -m tests.setup.services -- pytest ...

exports SOLARMON_TEST_REDIS_URL, SOLARMON_TEST_POSTGRES_URL and SOLARMON_TEST_MQTT_URL to the command. Each
service lives in a temporary folder and is stopped afterwards, whatever happens. Under
CI=true a service that cannot start is an error; elsewhere the tests that need it skip.

The command also gets a data disk of its own: SOLARMON_DATA_DIR becomes a tmpfs (8 GB, mounted
inside the given data directory), so the free space the tests see (the disk guard, the
disk-space alert, the health check) does not depend on how full this machine's disk is.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        time.sleep(0.1)
    return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="solarmon-redis-")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        if not _wait_port(port, 15):
            raise RuntimeError("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return found


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="solarmon-pg-"))
    datadir = workdir / "data"
    # PostgreSQL refuses to run as root: run it as the 'postgres' user when we are root.
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, _pg_bin("initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--no-sync"], check=True, stdout=subprocess.DEVNULL)
    opts = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run([*as_user, _pg_bin("pg_ctl"), "-D", str(datadir), "-o", opts, "-l",
                    str(workdir / "log"), "-w", "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/solarmon"
    finally:
        subprocess.run([*as_user, _pg_bin("pg_ctl"), "-D", str(datadir), "-m", "fast", "stop"],
                       stdout=subprocess.DEVNULL, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def mosquitto_exe() -> str:
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK)
                                        else None)
    if not exe:
        raise RuntimeError("mosquitto is not installed")
    return exe


def start_mosquitto(port: int, workdir: str) -> subprocess.Popen[bytes]:
    """A Mosquitto broker on 127.0.0.1:``port`` (anonymous, no persistence); tests restart it too."""
    conf = Path(workdir) / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "log_dest none\n")
    return subprocess.Popen([mosquitto_exe(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def mosquitto_server() -> Iterator[str]:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="solarmon-mqtt-")
    proc = start_mosquitto(port, workdir)
    try:
        if not _wait_port(port, 15):
            raise RuntimeError("mosquitto did not start")
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


DATA_DISK_SIZE = "8g"


@contextlib.contextmanager
def data_disk() -> Iterator[str]:
    """A tmpfs for the tests' SOLARMON_DATA_DIR, holding a copy of the development secret key."""
    folder = Path(os.environ.get("SOLARMON_DATA_DIR", "var")).resolve()
    disk = folder / "disk"
    disk.mkdir(parents=True, exist_ok=True)
    if os.path.ismount(disk):  # left by a run that was killed
        subprocess.run(["umount", "-l", str(disk)], check=False)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DATA_DISK_SIZE},mode=0700", "tmpfs",
                              str(disk)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        raise RuntimeError(f"cannot mount a tmpfs at {disk} (needs root): "
                           f"{mounted.stderr.strip() or mounted.returncode}")
    try:
        key = folder / "secret_key"
        if key.exists():
            shutil.copy2(key, disk / key.name)
        yield str(disk)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    strict = os.environ.get("CI") == "true"
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        for name, starter, var in (("The data disk", data_disk, "SOLARMON_DATA_DIR"),
                                   ("Redis", redis_server, "SOLARMON_TEST_REDIS_URL"),
                                   ("PostgreSQL", postgres_server, "SOLARMON_TEST_POSTGRES_URL"),
                                   ("Mosquitto", mosquitto_server, "SOLARMON_TEST_MQTT_URL")):
            try:
                env[var] = stack.enter_context(starter())
                print(f"test services: {name} at {env[var]}", flush=True)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
                print(f"test services: {name} could not start: {exc}", file=sys.stderr, flush=True)
                if strict:
                    return 1
        return subprocess.run(argv, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
