"""Which physical bus an adapter uses, and a lock per bus that holds across workers and hosts.

Two devices on one RS485 line (one serial port, or one transparent TCP gateway) must never
be polled at once: their replies would collide. A serial port and a Bluetooth radio belong to
one host, so their bus names carry the collector (``serial:pi-garage:/dev/ttyUSB0``); a TCP
gateway is one bus whichever collector reaches it (``tcp:192.168.1.50:8899``).

With a Redis broker (the scale setup) the locks are Redis locks (redis-py's ``Lock``) with a
time to live that the holder renews while it polls, so a worker that dies frees its buses
within ``SOLARMON_BUS_LOCK_TTL_S``. In the embedded default (one host, filesystem broker) they
are file locks in the data directory, which the kernel frees when a process dies.

Nobody waits long for a bus: after ``wait_s`` the poll gives up with :class:`BusBusy`, and the
caller counts a missed poll instead of holding a worker thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Protocol

import redis
from django.conf import settings
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
KEY_PREFIX = "solarmon:lock:"


class BusBusy(Exception):
    """Another poll held the bus for longer than this one could wait (not a device failure)."""


def bus_key(adapter_type: str, config: Mapping[str, Any], collector: str = "") -> str:
    """A name for the bus an adapter talks on: the serial port, the gateway, or the BLE radio."""
    if config.get("bt_addresses"):
        return f"ble:{collector}:" + ",".join(sorted(config["bt_addresses"]))
    transport = config.get("transport")
    if config.get("host") and (transport in ("tcp", "rtu_over_tcp") or not config.get("serial_port")):
        return f"tcp:{config['host']}:{config.get('port', '')}"
    return f"serial:{collector}:{config.get('serial_port', '')}"


def serial_bus(collector: str, port: str) -> str:
    """The bus name of serial port ``port`` of ``collector`` (what :func:`bus_key` gives)."""
    return bus_key("", {"serial_port": port}, collector)


def uses_redis() -> bool:
    """Whether locks live in Redis: the broker is Redis, so every collector reaches it."""
    return str(settings.CELERY_BROKER_URL).startswith(REDIS_SCHEMES)


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # Bounded socket waits: a lost Redis makes a poll give up, never hang a worker thread.
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


class _Held(Protocol):
    def release(self) -> None: ...


class _FileLock:
    """A lock file held with ``flock``, its handle kept open per process (opening it and its
    folder on every poll cost more than the lock itself).

    ``flock`` excludes other open files, not other threads sharing this one, so each kept
    handle has a thread lock beside it; a forked child opens its own (an inherited handle
    would share the parent's lock).
    """

    _open: dict[Path, tuple[IO[str], threading.Lock]] = {}
    _opening = threading.Lock()

    def __init__(self, key: str) -> None:
        path = Path(settings.DATA_DIR) / "locks" / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".lock")
        with self._opening:
            kept = self._open.get(path)
            if kept is None or os.fstat(kept[0].fileno()).st_nlink == 0:  # new, or deleted meanwhile
                path.parent.mkdir(parents=True, exist_ok=True)
                kept = self._open[path] = (open(path, "a+"), threading.Lock())
        self.handle: IO[str] = kept[0]
        self.threads: threading.Lock = kept[1]

    def acquire(self, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        mine = self.threads.acquire(timeout=wait_s) if wait_s > 0 else self.threads.acquire(blocking=False)
        if not mine:
            return False
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.threads.release()
                    return False
                time.sleep(0.02)

    def release(self) -> None:
        try:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
        finally:
            self.threads.release()

    @classmethod
    def forget(cls) -> None:
        """In a forked child: drop the parent's handles (closing them leaves its locks alone)."""
        for handle, _ in cls._open.values():
            handle.close()
        cls._open = {}
        cls._opening = threading.Lock()


os.register_at_fork(after_in_child=_FileLock.forget)


class _RedisLock:
    def __init__(self, key: str) -> None:
        # thread_local=False: the renewer thread extends the lock the polling thread took.
        self.lock = _client(str(settings.CELERY_BROKER_URL)).lock(
            KEY_PREFIX + key, timeout=settings.SOLARMON_BUS_LOCK_TTL_S, sleep=0.02, thread_local=False)

    def acquire(self, wait_s: float) -> bool:
        return bool(self.lock.acquire(blocking=wait_s > 0, blocking_timeout=max(wait_s, 0.001)))

    def renew(self) -> None:
        self.lock.reacquire()

    def release(self) -> None:
        try:
            self.lock.release()
        except LockError:
            log.warning("bus lock %s expired while it was held: a poll took longer than "
                        "SOLARMON_BUS_LOCK_TTL_S and was not renewed", self.lock.name)


class _Renewer(threading.Thread):
    """Keeps Redis locks alive while their holder polls (a dead holder stops renewing)."""

    def __init__(self, locks: list[_RedisLock]) -> None:
        super().__init__(name="bus-lock-renewer", daemon=True)
        self.locks = locks
        self.done = threading.Event()

    def run(self) -> None:
        period = settings.SOLARMON_BUS_LOCK_TTL_S / 3
        while not self.done.wait(period):
            for lock in self.locks:
                try:
                    lock.renew()
                except (LockError, RedisError) as exc:
                    log.warning("could not renew bus lock %s: %s", lock.lock.name, exc)


@dataclass
class _Holding:
    locks: list[_Held]
    renewer: _Renewer | None = None

    def release(self) -> None:
        if self.renewer is not None:
            self.renewer.done.set()
            self.renewer.join()
        for lock in reversed(self.locks):
            try:
                lock.release()
            except RedisError as exc:  # its time to live frees it
                log.warning("could not release a bus lock: %s", exc)


def _acquire(keys: list[str], wait_s: float) -> _Holding:
    """Take every lock in ``keys`` in sorted order (so no deadlock), or none and raise BusBusy."""
    deadline = time.monotonic() + wait_s
    holding = _Holding([])
    try:
        for key in sorted(set(keys)):
            lock: _FileLock | _RedisLock = _RedisLock(key) if uses_redis() else _FileLock(key)
            try:
                acquired = lock.acquire(max(deadline - time.monotonic(), 0.0))
            except RedisError as exc:
                raise BusBusy(f"bus lock of {key} unavailable: {exc}") from exc
            if not acquired:
                raise BusBusy(f"bus {key} was busy for {wait_s:.1f} s")
            holding.locks.append(lock)
    except BaseException:
        holding.release()
        raise
    redis_locks = [lock for lock in holding.locks if isinstance(lock, _RedisLock)]
    if redis_locks:
        holding.renewer = _Renewer(redis_locks)
        holding.renewer.start()
    return holding


@contextlib.contextmanager
def bus_locks(keys: list[str], wait_s: float) -> Iterator[None]:
    """Hold the locks of every bus in ``keys``; :class:`BusBusy` when one is not free within
    ``wait_s`` seconds in all."""
    holding = _acquire(keys, wait_s)
    try:
        yield
    finally:
        holding.release()


@contextlib.contextmanager
def run_alone(name: str) -> Iterator[bool]:
    """True while this caller is the only one running ``name`` (False: another is; do not wait).

    Across hosts with a Redis broker (a lock renewed while held, freed within
    ``SOLARMON_BUS_LOCK_TTL_S`` of its holder dying), else across the processes of this host.
    """
    try:
        holding = _acquire([f"run:{name}"], 0.0)
    except BusBusy:
        yield False
        return
    try:
        yield True
    finally:
        holding.release()
