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
import itertools
import logging
import os
import secrets
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


_THREAD = threading.local()


def _client(url: str) -> redis.Redis:
    """This thread's Redis client for ``url``, on a connection of its own (connected here, so this
    can raise ``RedisError``). redis-py's shared pool hands a connection out and takes it back at
    every command, first asking the kernel whether it holds unread data: a system call and most of
    the client's own CPU of a lock, twice a poll. Another thread may use it too (the renewer
    extends a lock the polling thread took): redis-py then takes turns on the connection."""
    clients: dict[str, redis.Redis] | None = getattr(_THREAD, "clients", None)
    if clients is None:
        clients = _THREAD.clients = {}
    client = clients.get(url)
    if client is None:
        # Bounded socket waits: a lost Redis makes a poll give up, never hang a worker thread.
        client = clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5,
                                                     single_connection_client=True)
    return client


def _forget_clients() -> None:
    """In a forked child: the parent's connections are not the child's to use."""
    global _THREAD
    _THREAD = threading.local()


os.register_at_fork(after_in_child=_forget_clients)


class _Held(Protocol):
    def release(self) -> None: ...


@lru_cache(maxsize=4096)
def _lock_path(data_dir: str, key: str) -> Path:
    """A bus's lock file (worked out once per bus: a poll takes its lock at every slot)."""
    return Path(data_dir) / "locks" / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".lock")


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
        path = _lock_path(str(settings.DATA_DIR), key)
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


# Who holds a Redis lock: this process's random name, its pid (a forked child inherits the name)
# and a count. redis-py's own token is a ``uuid1``, which asks libuuid's daemon for it over a socket
# of its own at every call (a socket, a connect and a close per poll, each a turn of the
# interpreter's lock).
_TOKEN_NAME = secrets.token_hex(8)
_TOKEN_COUNT = itertools.count()


def _token() -> bytes:
    return f"{_TOKEN_NAME}:{os.getpid()}:{next(_TOKEN_COUNT)}".encode()


class _RedisLock:
    def __init__(self, key: str) -> None:
        # thread_local=False: the renewer thread extends the lock the polling thread took.
        self.lock = _client(str(settings.CELERY_BROKER_URL)).lock(
            KEY_PREFIX + key, timeout=settings.SOLARMON_BUS_LOCK_TTL_S, sleep=0.02, thread_local=False)

    def acquire(self, wait_s: float) -> bool:
        if not self.lock.acquire(blocking=wait_s > 0, blocking_timeout=max(wait_s, 0.001), token=_token()):
            return False
        _RENEWER.hold(self)
        return True

    def renew(self) -> None:
        self.lock.reacquire()

    def release(self) -> None:
        _RENEWER.drop(self)
        try:
            self.lock.release()
        except LockError:
            log.warning("bus lock %s expired while it was held: a poll took longer than "
                        "SOLARMON_BUS_LOCK_TTL_S and was not renewed", self.lock.name)


class _Renewer:
    """Keeps this process's Redis locks alive while they are held: one thread for all of them,
    started with the first lock, renewing each a third of its time to live after it was taken
    or last renewed. A process that dies stops renewing, so its locks expire.

    One thread per process rather than one per held lock: polls take a bus lock a hundred times
    a second at scale, and starting and joining a thread for each cost more CPU than the poll's
    own SQL.
    """

    def __init__(self) -> None:
        self.held: dict[int, tuple[float, _RedisLock]] = {}  # id(lock) → (renew at, lock)
        self.changed = threading.Condition(threading.Lock())
        self.thread: threading.Thread | None = None
        self.wakes_at = 0.0  # when the thread wakes next, unless told to sooner

    def hold(self, lock: _RedisLock) -> None:
        due = time.monotonic() + float(lock.lock.timeout or 0) / 3
        with self.changed:
            self.held[id(lock)] = (due, lock)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="bus-lock-renewer", daemon=True)
                self.thread.start()
            elif due < self.wakes_at:  # sooner than the thread's next turn (a shorter time to live)
                self.changed.notify()

    def drop(self, lock: _RedisLock) -> None:
        with self.changed:
            self.held.pop(id(lock), None)

    def _run(self) -> None:
        while True:
            with self.changed:
                now = time.monotonic()
                due = [lock for at, lock in self.held.values() if at <= now]
                if not due:
                    self.wakes_at = min((at for at, _ in self.held.values()), default=now + 60.0)
                    self.changed.wait(self.wakes_at - now)
                    continue
                for lock in due:  # next turn at a third of the time to live from now
                    self.held[id(lock)] = (now + float(lock.lock.timeout or 0) / 3, lock)
            for lock in due:
                try:
                    lock.renew()
                except (LockError, RedisError) as exc:
                    with self.changed:
                        still_held = id(lock) in self.held and self.held[id(lock)][1] is lock
                    if still_held:  # else released meanwhile: nothing to renew
                        log.warning("could not renew bus lock %s: %s", lock.lock.name, exc)

    def forget(self) -> None:
        """In a forked child: the parent's locks and thread are not the child's."""
        self.held = {}
        self.changed = threading.Condition(threading.Lock())
        self.thread = None
        self.wakes_at = 0.0


_RENEWER = _Renewer()
os.register_at_fork(after_in_child=_RENEWER.forget)


@dataclass
class _Holding:
    locks: list[_Held]

    def release(self) -> None:
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
            try:
                lock: _FileLock | _RedisLock = _RedisLock(key) if uses_redis() else _FileLock(key)
                acquired = lock.acquire(max(deadline - time.monotonic(), 0.0))
            except RedisError as exc:
                raise BusBusy(f"bus lock of {key} unavailable: {exc}") from exc
            if not acquired:
                raise BusBusy(f"bus {key} was busy for {wait_s:.1f} s")
            holding.locks.append(lock)
    except BaseException:
        holding.release()
        raise
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
