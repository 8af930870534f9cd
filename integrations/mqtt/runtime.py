"""The publisher of this process: started in Celery worker processes, after they fork.

- prefork pool: each child starts its own in ``worker_process_init`` (a client made before
  the fork would share one socket among processes);
- solo and threads pools (``make run`` uses threads): the worker starts it in ``worker_ready``,
  after the embedded beat process has been forked, so no other process holds a copy of the
  broker socket and the last will fires as soon as the worker dies.

Only worker processes publish: polls happen there. ``submit()`` is a no-op elsewhere (the
web process, management commands), and in a process forked from one that had a publisher.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from django.conf import settings

from integrations.mqtt.publisher import Event, Publisher

log = logging.getLogger(__name__)

_lock = threading.Lock()
_publisher: Publisher | None = None
_owner_pid = 0


def current() -> Publisher | None:
    """This process's publisher, if it started one."""
    return _publisher if _owner_pid == os.getpid() else None


def start() -> Publisher:
    """Start this process's publisher (idempotent)."""
    global _publisher, _owner_pid
    with _lock:
        if _publisher is not None and _owner_pid == os.getpid():
            return _publisher
        _publisher = Publisher(queue_size=settings.SOLARMON_MQTT_QUEUE_SIZE,
                               check_s=settings.SOLARMON_MQTT_CHECK_S,
                               reconnect_max_s=settings.SOLARMON_MQTT_RECONNECT_MAX_S,
                               keepalive_s=settings.SOLARMON_MQTT_KEEPALIVE_S)
        _owner_pid = os.getpid()
        _publisher.start()
        return _publisher


def stop() -> None:
    """Stop this process's publisher: ``offline`` on the bridge topic, then disconnect."""
    global _publisher
    with _lock:
        publisher = current()
        _publisher = None
    if publisher is not None:
        publisher.stop()


def submit(kind: str, *args: Any) -> bool:
    """Give the publisher an event without ever blocking; False when none runs or it is full."""
    publisher = current()
    return publisher.submit(Event(kind, args)) if publisher is not None else False


def publish_extra(device_key: tuple[str, str], suffix: str, payload: str) -> bool:
    """Publish an extension's state (see ``integrations.mqtt.extensions``) for one device."""
    return submit("extra", device_key, suffix, payload)


def publish_event(suffix: str, payload: str) -> bool:
    """Publish one message on ``<base>/<suffix>``, not retained and not sent again after a
    reconnect: an event, such as an alert raised (lost, like any message, while the broker is away)."""
    return submit("event", suffix, payload)


atexit.register(stop)


# ---- Celery hooks (connected in IntegrationsConfig.ready) ---------------------------------
def on_worker_init(sender: Any = None, **kwargs: Any) -> None:
    """Remember whether this worker forks pool children (they start their own publishers)."""
    global _prefork
    from celery.concurrency import get_implementation
    from celery.concurrency.prefork import TaskPool

    pool = getattr(sender, "pool_cls", None)  # still a name ("prefork", "threads", ...) at this point
    try:
        cls = get_implementation(pool) if isinstance(pool, str) else pool
    except (KeyError, ImportError, ValueError):
        cls = None
    _prefork = isinstance(cls, type) and issubclass(cls, TaskPool)


def on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    if not _prefork:
        start()


def on_worker_process_init(**kwargs: Any) -> None:
    start()


def on_worker_shutdown(**kwargs: Any) -> None:
    stop()


_prefork = False
