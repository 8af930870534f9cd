"""Fixtures shared with the telemetry tests."""

from tests.telemetry.conftest import installation  # noqa: F401
