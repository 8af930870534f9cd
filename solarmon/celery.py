"""The Celery app. Settings come from Django settings with the CELERY_ prefix."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")

app = Celery("solarmon")
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
