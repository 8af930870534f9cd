"""Bus locks: one poll per bus at a time, across hosts with Redis, freed when a holder dies."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import redis

from telemetry.buses import BusBusy, bus_key, bus_locks, run_alone, serial_bus, uses_redis

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["file", "redis"])
def backend(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> str:
    settings.DATA_DIR = tmp_path
    settings.SOLARMON_BUS_LOCK_TTL_S = 1.0
    if request.param == "redis":
        settings.CELERY_BROKER_URL = request.getfixturevalue("redis_url")
    else:
        settings.CELERY_BROKER_URL = "filesystem://localhost//"
    assert uses_redis() == (request.param == "redis")
    return str(request.param)


def _key() -> str:
    return f"tcp:192.0.2.{uuid.uuid4().int % 250}:{uuid.uuid4().hex[:6]}"


def test_a_bus_is_held_by_one_poll_at_a_time(backend: str) -> None:
    key = _key()
    inside, overlaps = [0], [0]
    guard = threading.Lock()

    def poll() -> None:
        for _ in range(5):
            with bus_locks([key], 5.0):
                with guard:
                    inside[0] += 1
                    overlaps[0] += inside[0] > 1
                time.sleep(0.02)
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps[0] == 0


def test_a_poll_gives_up_on_a_busy_bus_after_its_wait(backend: str) -> None:
    key = _key()
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with bus_locks([key], 0):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(5)
    try:
        with pytest.raises(BusBusy, match=r"busy for 0\.2 s"), bus_locks([key], 0.2):
            pass
    finally:
        release.set()
        thread.join()
    with bus_locks([key], 0):  # free again
        pass


def test_a_held_redis_lock_outlives_its_time_to_live_while_its_holder_polls(redis_url: str,
                                                                            settings: Any) -> None:
    settings.CELERY_BROKER_URL = redis_url
    settings.SOLARMON_BUS_LOCK_TTL_S = 1.0
    key = _key()
    with bus_locks([key], 0):
        time.sleep(2.5)  # 2.5 × SOLARMON_BUS_LOCK_TTL_S: renewed meanwhile
        with pytest.raises(BusBusy):
            with bus_locks([key], 0):
                pass


def test_locks_held_at_once_each_stay_held_and_free_on_release(redis_url: str, settings: Any) -> None:
    """Polls (threads) hold their buses at once, one taken later with a time to live shorter
    than the others' renewal period: each stays held past its own time to live, and all are
    free once released."""
    settings.CELERY_BROKER_URL = redis_url
    with bus_locks([_key()], 0):  # a renewer left with nothing to renew (another poll's, earlier)
        pass
    keys = [_key() for _ in range(3)]
    held, release = threading.Barrier(len(keys) + 1), threading.Event()

    def poll(key: str, delay_s: float, ttl_s: float) -> None:
        time.sleep(delay_s)
        settings.SOLARMON_BUS_LOCK_TTL_S = ttl_s
        with bus_locks([key], 0):
            held.wait(10)
            release.wait(10)

    threads = [threading.Thread(target=poll, args=args) for args in
               ((keys[0], 0.0, 6.0), (keys[1], 0.1, 6.0), (keys[2], 0.3, 1.0))]
    for thread in threads:
        thread.start()
    try:
        held.wait(10)
        time.sleep(2.0)  # twice the short lock's time to live: renewed meanwhile
        for key in keys:
            with pytest.raises(BusBusy):
                with bus_locks([key], 0):
                    pass
    finally:
        release.set()
        for thread in threads:
            thread.join()
    with bus_locks(keys, 0):  # all free again
        pass


def test_a_redis_lock_of_a_holder_that_died_frees_itself(redis_url: str, settings: Any) -> None:
    settings.CELERY_BROKER_URL = redis_url
    settings.SOLARMON_BUS_LOCK_TTL_S = 1.0
    key = _key()
    # What a killed worker leaves behind: the lock, and nobody renewing it.
    redis.Redis.from_url(redis_url).set(f"solarmon:lock:{key}", "dead-worker", px=1000)
    with pytest.raises(BusBusy):
        with bus_locks([key], 0.1):
            pass
    with bus_locks([key], 3.0):
        pass


def test_with_redis_down_a_poll_gives_up_on_its_bus_and_says_why(settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    with pytest.raises(BusBusy, match=r"bus lock of tcp:.* unavailable: .*"):
        with bus_locks([_key()], 0.5):
            pass


def test_a_thread_takes_its_bus_again_after_redis_dropped_its_connection(redis_url: str,
                                                                         settings: Any) -> None:
    settings.CELERY_BROKER_URL = redis_url
    key = _key()
    with bus_locks([key], 1.0):
        pass
    admin = redis.Redis.from_url(redis_url)
    assert admin.client_kill_filter(_type="normal", skipme=True) >= 1  # as a restart of Redis would
    outcomes = []
    for _ in range(2):  # redis-py may spend one poll noticing the dead connection
        try:
            with bus_locks([key], 1.0):
                outcomes.append("held")
                break
        except BusBusy as exc:
            outcomes.append(str(exc))
    assert outcomes[-1] == "held", outcomes
    assert admin.get(f"solarmon:lock:{key}") is None  # and freed


def test_only_one_caller_runs_alone(backend: str) -> None:
    name = uuid.uuid4().hex
    with run_alone(name) as first:
        with run_alone(name) as second:
            assert (first, second) == (True, False)
    with run_alone(name) as again:
        assert again


def test_a_serial_port_is_a_bus_of_its_own_host_and_a_gateway_is_shared() -> None:
    assert serial_bus("house", "/dev/ttyUSB0") != serial_bus("garage", "/dev/ttyUSB0")
    assert bus_key("powdrive", {"transport": "rtu", "serial_port": "/dev/ttyUSB0"}, "house") == serial_bus(
        "house", "/dev/ttyUSB0")
    gateway = {"transport": "rtu_over_tcp", "host": "192.168.1.50", "port": 8899}
    assert bus_key("powdrive", gateway, "house") == bus_key("jkbms_tcpip", gateway, "garage")


def test_a_file_lock_holds_against_a_forked_worker_process(settings: Any, tmp_path: Any) -> None:
    """A worker's pool processes are forked from a parent that may already have used the lock."""
    import multiprocessing

    settings.DATA_DIR = tmp_path
    settings.CELERY_BROKER_URL = "filesystem://localhost//"
    key = _key()
    with bus_locks([key], 0):  # the parent's handle is open and kept
        pass
    context = multiprocessing.get_context("fork")
    held, release = context.Event(), context.Event()

    def child() -> None:
        with bus_locks([key], 0):
            held.set()
            release.wait(10)

    process = context.Process(target=child)
    process.start()
    try:
        assert held.wait(10)
        with pytest.raises(BusBusy), bus_locks([key], 0.1):
            pass
    finally:
        release.set()
        process.join(10)
    with bus_locks([key], 1.0):  # free again once the child let go
        pass
