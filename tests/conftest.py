"""Shared test fixtures: the services started by tests/setup/services.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest


def _service_url(var: str, name: str) -> str:
    url = os.environ.get(var)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required under CI but {var} is not set (run through `make test`)")
        pytest.skip(f"{name} not available (run through `make test`)")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the private Redis started for this test run."""
    return _service_url("SOLARMON_TEST_REDIS_URL", "Redis")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the private PostgreSQL started for this test run."""
    return _service_url("SOLARMON_TEST_POSTGRES_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """URL of the private Mosquitto broker started for this test run."""
    return _service_url("SOLARMON_TEST_MQTT_URL", "Mosquitto")


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Forget what the poll path keeps per process (catalog snapshot, alert rules and watches,
    late-sample checks): a test's rolled-back database is a change no fingerprint can see."""
    from aggregation.dirty import forget_live_checks
    from alerts.evaluation import forget_rules
    from telemetry.snapshot import forget_poll_catalog

    forget_poll_catalog()
    forget_rules()
    forget_live_checks()


@pytest.fixture(autouse=True)
def _forget_held_web_state() -> Iterator[None]:
    """What a web process holds between requests (the newest samples of
    telemetry.selectors.device_states, the hierarchy's held renderings) belongs to one test's
    database: a later test must not be served it."""
    yield
    if "telemetry.selectors" in sys.modules:
        sys.modules["telemetry.selectors"].forget_device_states()
    if "catalog.api.hierarchy" in sys.modules:
        sys.modules["catalog.api.hierarchy"].forget_held_renderings()


# The PostgreSQL pass of `make test` runs only what reaches the database: a test that never
# asks for it behaves the same whatever DATABASE_URL says, and has already run on SQLite. The
# browser tests are left to the SQLite pass too: what they add to the view and API tests (which do
# run on PostgreSQL, with the same queries behind each page) is the page in Chromium, and a
# Chromium page costs seconds a test of the 15-minute suite.
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                     "live_server"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--database-tests-only", action="store_true",
                     help="only the tests that use the database, browser tests aside (the PostgreSQL pass)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--database-tests-only"):
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        uses = DATABASE_FIXTURES & fixtures or item.get_closest_marker("django_db")
        (kept if uses and not item.get_closest_marker("browser") else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
