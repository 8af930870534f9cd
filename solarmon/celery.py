"""The Celery app. Settings come from Django settings with the CELERY_ prefix."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

import celery
from amqp import ChannelError
from celery import Celery
from celery.signals import worker_init
from kombu.exceptions import KombuError

from aggregation.diskfull import DATABASE, is_disk_full

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")


class Task(celery.Task):  # type: ignore[type-arg]
    """Every solarmon task. A write that meets a full disk ends the task quietly: the episode
    is logged once per process (aggregation/diskfull.py), the disk guard runs, and the next
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


@worker_init.connect
def _simulated_bluetooth(**kwargs: Any) -> None:
    """In the demo, Bluetooth packs are simulated inside the worker (no radio here).

    Runs once in the main worker process; pool processes forked from it inherit the setup.
    """
    if os.environ.get("SOLARMON_SIMULATE_BLE") == "1":
        from solarmon.demo import enable_simulated_ble

        enable_simulated_ble(datetime.fromisoformat(os.environ["SOLARMON_DEMO_ORIGIN"]))
