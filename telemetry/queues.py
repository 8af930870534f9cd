"""Celery queue names (no Django imports: the Celery app reads these before Django is set up).

Every worker consumes the shared queue (dispatch, rollups, retention: work any host can do)
and its own collector's queue (polls and discovery of the devices it owns).
"""

from __future__ import annotations

SHARED_QUEUE = "celery"  # Celery's default queue name, so tasks sent without routing land here


def collector_queue(collector: str) -> str:
    """The queue of the worker that runs as ``collector``."""
    return f"collector.{collector}"
