"""Celery tasks for discovery. Thin: they call :func:`run_discovery_once`.

``run_discovery`` runs from beat every few minutes (``solarmon.schedule``) and once at
start-up (:func:`queue_startup_discovery`, called by the worker/demo start).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from discovery.conf import DiscoverySettings
from discovery.phases import run_discovery as run_phases
from discovery.report import DiscoveryReport

log = logging.getLogger(__name__)

DISCOVERY_TIME_LIMIT_S = 600


@contextlib.contextmanager
def _single_run() -> Iterator[bool]:
    """True while this process holds the machine-wide discovery lock (False: another run is on)."""
    folder = Path(settings.DATA_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "discovery.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_discovery_once(port_globs: list[str] | None = None, *, respect_port_backoff: bool = True
                       ) -> DiscoveryReport:
    """One discovery run, unless another is in progress on this machine (two would collide on ports)."""
    with _single_run() as mine:
        if not mine:
            return DiscoveryReport(started_at=timezone.now(), skipped_reason="another discovery run is "
                                   "in progress")
        report = run_phases(port_globs=port_globs, respect_port_backoff=respect_port_backoff)
    log.info("discovery run: %d report lines", len(report.lines))
    return report


@shared_task(ignore_result=True, soft_time_limit=DISCOVERY_TIME_LIMIT_S - 30,
             time_limit=DISCOVERY_TIME_LIMIT_S)
def run_discovery() -> None:
    """Scan serial ports, rebind moved devices and configure new ones (unless discovery is off)."""
    if not DiscoverySettings.load().enabled:
        log.info("discovery is disabled: periodic scan skipped")
        return
    report = run_discovery_once()
    for line in report.lines:
        log.info("discovery %s: %s %s %s", line.port, line.action, line.device_id, line.detail)


def queue_startup_discovery() -> None:
    """Queue one discovery run now (worker or demo start): devices are configured without waiting
    for the first beat period."""
    if not DiscoverySettings.load().scan_on_startup:
        log.info("discovery: no scan at start-up (scan_on_startup is off)")
        return
    run_discovery.apply_async(expires=DISCOVERY_TIME_LIMIT_S)
