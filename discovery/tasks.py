"""Celery tasks for discovery. Thin: they call :func:`run_discovery_once`.

Discovery runs per collector, on its own host's ports. Every few minutes beat runs
``dispatch_discovery`` (``solarmon.schedule``), which queues ``run_discovery`` on the queue of
every collector that is up; ``queue_startup_discovery`` (the demo's start) queues it for this
host's collector at once.
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

from catalog.choices import CollectorState
from catalog.collectors import collector_state
from catalog.models import Collector
from discovery.conf import DiscoverySettings
from discovery.phases import run_discovery as run_phases
from discovery.report import DiscoveryReport
from telemetry.queues import collector_queue

log = logging.getLogger(__name__)

DISCOVERY_TIME_LIMIT_S = 600


@contextlib.contextmanager
def _single_run(collector: str) -> Iterator[bool]:
    """True while this process holds ``collector``'s discovery lock (False: another run is on)."""
    folder = Path(settings.DATA_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"discovery-{collector}.lock", "a+") as handle:
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
    """One discovery run of this host's collector, unless another is in progress (two would
    collide on its ports)."""
    collector = settings.SOLARMON_COLLECTOR
    with _single_run(collector) as mine:
        if not mine:
            return DiscoveryReport(started_at=timezone.now(), skipped_reason="another discovery run is "
                                   "in progress")
        report = run_phases(port_globs=port_globs, respect_port_backoff=respect_port_backoff,
                            collector=collector)
    log.info("discovery run of collector %s: %d report lines", collector, len(report.lines))
    return report


@shared_task(ignore_result=True, soft_time_limit=DISCOVERY_TIME_LIMIT_S - 30,
             time_limit=DISCOVERY_TIME_LIMIT_S)
def run_discovery() -> None:
    """Scan this collector's serial ports, rebind moved devices and configure new ones (unless
    discovery is off)."""
    if not DiscoverySettings.load().enabled:
        log.info("discovery is disabled: periodic scan skipped")
        return
    report = run_discovery_once()
    for line in report.lines:
        log.info("discovery %s: %s %s %s", line.port, line.action, line.device_id, line.detail)


@shared_task(ignore_result=True)
def dispatch_discovery() -> list[str]:
    """Queue a discovery run on every collector that is up; returns their names."""
    now = timezone.now()
    names = [c.name for c in Collector.objects.all() if collector_state(c, now) == CollectorState.UP]
    for name in names:
        run_discovery.apply_async(queue=collector_queue(name), expires=DISCOVERY_TIME_LIMIT_S)
    return names


def queue_startup_discovery() -> None:
    """Queue one discovery run on this host's collector now (demo start): devices are configured
    without waiting for the first beat period (unless scan_on_startup is off)."""
    if not DiscoverySettings.load().scan_on_startup:
        log.info("discovery: no scan at start-up (scan_on_startup is off)")
        return
    run_discovery.apply_async(queue=collector_queue(settings.SOLARMON_COLLECTOR),
                              expires=DISCOVERY_TIME_LIMIT_S)
