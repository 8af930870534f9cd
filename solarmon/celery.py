"""The Celery app. Settings come from Django settings with the CELERY_ prefix.

Every worker runs as one collector (``SOLARMON_COLLECTOR``, default the host name): besides
the shared queue it consumes ``collector.<name>``, where beat's dispatcher sends the polls
and discovery runs of the devices that collector owns. ``SOLARMON_COLLECTOR=NAME celery -A
solarmon worker`` is all it takes; the worker registers its collector when it starts,
heartbeats while it runs and marks it stopped when it shuts down (``CollectorStep``).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from datetime import datetime
from typing import Any

import celery
from amqp import ChannelError
from celery import Celery, bootsteps
from celery.signals import celeryd_init, task_postrun, task_prerun, worker_init
from kombu.exceptions import KombuError

from telemetry.diskfull import DATABASE, is_disk_full

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")

log = logging.getLogger(__name__)


class Task(celery.Task):  # type: ignore[type-arg]
    """Every solarmon task. A write that meets a full disk ends the task quietly: the episode
    is logged once per process (telemetry/diskfull.py), the disk guard runs, and the next
    poll tries again, instead of a traceback for every poll while the disk stays full."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            if not _from_broker(exc):  # the broker transport logs its own episode
                DATABASE.failed(exc, self.name)
            _relieve_disk_pressure()
            return None


class FullDiskLogFilter(logging.Filter):
    """Beat logs a traceback for every entry it cannot queue or save: on a full disk, one every
    two seconds. Those become one line per episode (the broker's, or this one). And while the
    broker's disk is full beat cannot queue the disk guard either, so beat runs it itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not is_disk_full(exc):
            return True
        if not _from_broker(exc):
            DATABASE.failed(exc, "beat")
        _relieve_disk_pressure()
        return False


def _relieve_disk_pressure() -> None:
    from aggregation.diskguard import relieve_pressure_soon  # needs Django's apps, loaded by now

    relieve_pressure_soon()


def _from_broker(exc: BaseException | None) -> bool:
    """Whether the broker raised ``exc`` or anything it wraps."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KombuError | ChannelError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


for _name in ("celery.beat", "django_celery_beat.schedulers"):
    logging.getLogger(_name).addFilter(FullDiskLogFilter())

app = Celery("solarmon", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task: Any = None, **kwargs: Any) -> None:
    """Close this thread's database connection if it is broken or older than its maximum age
    (what Django does around each web request), so tasks reuse a good one (CELERY_DB_REUSE_MAX).
    Not for a task run in the caller's thread (eager), whose connection is the caller's."""
    from django.db import close_old_connections

    if not getattr(getattr(task, "request", None), "is_eager", False):
        close_old_connections()


# How long a thread may hold the interpreter's lock while another waits for it (Python's default
# is 5 ms). A worker's poll threads mostly wait on the wire and hand the lock over at each wait;
# past the interval a waiting thread makes the holder let go mid-work, and with four poll threads
# those forced turns were a good part of a poll's CPU. 20 ms: bench/scale.py --postgres, 500
# inverters, 4 threads, CPU a poll 3.15-3.41 ms against 3.61-4.00 ms at 5 ms, dispatch lag p99
# 147-205 ms against 214-1,718 ms (bench/README.md). A poll waits on a reply for far longer.
POLL_THREADS_SWITCH_INTERVAL_S = 0.02


def pace_poll_threads() -> None:
    """Let this process's poll threads take turns at the interpreter at their waits on the wire
    (see ``POLL_THREADS_SWITCH_INTERVAL_S``)."""
    sys.setswitchinterval(POLL_THREADS_SWITCH_INTERVAL_S)


@celeryd_init.connect
def _pace_worker_threads(**kwargs: Any) -> None:
    pace_poll_threads()


@celeryd_init.connect
def _consume_collector_queue(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """Add this worker's collector queue to what it consumes (alongside ``-Q``, if given)."""
    from django.conf import settings

    from telemetry.queues import collector_queue

    instance.app.amqp.queues.select_add(collector_queue(settings.SOLARMON_COLLECTOR))


def _local_ports() -> list[str]:
    """The serial ports this host has, as discovery lists them (kernel and by-id names)."""
    from discovery.conf import DiscoverySettings
    from discovery.scanning import list_ports_for, system_ports

    conf = DiscoverySettings.load()
    try:
        ports = list_ports_for(conf.include_globs, conf.exclude_globs, by_id_dir=conf.by_id_dir,
                               lister=system_ports if conf.scan_system_ports else None)
    except OSError as exc:
        log.warning("could not list the serial ports: %s", exc)
        return []
    return sorted({name for port in ports for name in (port.device, port.path)})


class CollectorStep(bootsteps.StartStopStep):
    """Registers the worker's collector on start, heartbeats in a thread, marks it stopped on exit.

    The heartbeat runs in its own thread, so neither a busy pool nor a locked database delays
    the worker's message loop.
    """

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.collector = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, parent: Any) -> None:
        from django.conf import settings

        self.collector = settings.SOLARMON_COLLECTOR
        self._register()
        self._thread = threading.Thread(target=self._run, name="collector-heartbeat", daemon=True)
        self._thread.start()

    def stop(self, parent: Any) -> None:
        from django.db import close_old_connections
        from django.utils import timezone

        from catalog.collectors import collector_stopped

        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            close_old_connections()
            collector_stopped(self.collector, timezone.now())
        except Exception:  # the worker is going anyway; the heartbeat times out instead
            log.exception("could not mark collector %s stopped", self.collector)

    def _register(self) -> None:
        from django.db import close_old_connections
        from django.utils import timezone

        from catalog.collectors import collector_register
        from telemetry.status import release_pending

        try:
            close_old_connections()
            collector_register(self.collector, host=socket.gethostname(), ports=_local_ports(),
                               now=timezone.now())
            release_pending(self.collector)
            log.info("collector %s registered; consuming its queue", self.collector)
        except Exception:  # the database may be coming up: the heartbeat registers it later
            log.exception("could not register collector %s", self.collector)

    def _run(self) -> None:
        from django.conf import settings
        from django.db import close_old_connections, connection
        from django.utils import timezone

        from catalog.collectors import collector_heartbeat

        while not self._stop.wait(settings.SOLARMON_COLLECTOR_HEARTBEAT_S):
            try:
                close_old_connections()
                if not collector_heartbeat(self.collector, ports=_local_ports(), now=timezone.now()):
                    self._register()
            except Exception:
                log.exception("heartbeat of collector %s failed", self.collector)
        connection.close()


app.steps["worker"].add(CollectorStep)


def _close_connections_before_fork() -> None:
    """A worker's ``--beat`` (and any other child) is forked from the worker: a database
    connection open in the forking thread would be a copy in the child. SQLite must never use a
    connection across fork() (its locks belong to the other process: "locking protocol" errors,
    or worse) and a PostgreSQL socket would carry two processes' messages. The forking thread
    closes its connections first; each process opens its own when it needs one."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


@worker_init.connect
def _no_connections_across_fork(**kwargs: Any) -> None:
    os.register_at_fork(before=_close_connections_before_fork)


@worker_init.connect
def _simulated_bluetooth(**kwargs: Any) -> None:
    """In the demo, Bluetooth packs are simulated inside the worker (no radio here).

    Runs once in the main worker process; pool processes forked from it inherit the setup.
    """
    if os.environ.get("SOLARMON_SIMULATE_BLE") == "1":
        from solarmon.demo import enable_simulated_ble

        enable_simulated_ble(datetime.fromisoformat(os.environ["SOLARMON_DEMO_ORIGIN"]))
