"""Keep parallel test workers (pytest-xdist, ``make test`` runs two) out of each other's way.

Loaded with ``-p tests.setup.workers`` before Django's settings are read. In a worker, the
data folder (SQLite files, filesystem broker, locks) becomes a subfolder of its own, and the
Redis started by tests/setup/services.py is used through a database number of its own, so
one worker's Celery never takes another's tasks. MQTT needs nothing: every test already
publishes under topics of its own. Outside xdist this module does nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _isolate(worker: str) -> None:
    number = int(worker.removeprefix("gw") or 0)
    base = Path(os.environ.get("SOLARMON_DATA_DIR") or Path(__file__).resolve().parents[2] / "var")
    own = base / worker
    own.mkdir(parents=True, exist_ok=True)
    key = base / "secret_key"
    if key.exists() and not (own / "secret_key").exists():
        shutil.copy2(key, own / "secret_key")
    os.environ["SOLARMON_DATA_DIR"] = str(own)
    redis = os.environ.get("SOLARMON_TEST_REDIS_URL")
    if redis:
        # Redis has 16 databases by default; the services start it with 0 in the URL.
        os.environ["SOLARMON_TEST_REDIS_URL"] = f"{redis.rsplit('/', 1)[0]}/{1 + number % 15}"


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    _isolate(_worker)
