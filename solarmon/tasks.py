"""The worker's heartbeat: run from beat, so a fresh one proves the queue is consumed."""

from __future__ import annotations

from celery import shared_task

from solarmon.health import WORKER, beat


@shared_task(ignore_result=True)
def worker_heartbeat() -> None:
    beat(WORKER)
