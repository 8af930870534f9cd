"""Exactly one beat: its lock is refused to a second holder until the first lets go (or dies)."""

from __future__ import annotations

import pytest

from solarmon.beat import BeatLock

pytestmark = pytest.mark.django_db


def test_a_second_beat_is_refused_the_lock_until_the_first_releases_it() -> None:
    first, second = BeatLock(), BeatLock()
    assert first.acquire()
    try:
        assert first.held()
        assert not second.acquire()
    finally:
        first.release()
    assert second.acquire()
    second.release()


@pytest.mark.django_db(transaction=True)
def test_beat_keeps_going_when_the_database_refuses_a_schedule_read(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """SQLite under heavy write contention answers "locking protocol"; that tick is retried."""
    from django.db import OperationalError
    from django_celery_beat.schedulers import DatabaseScheduler

    from solarmon import beat
    from solarmon.celery import app
    from solarmon.schedule import install_beat_schedule

    install_beat_schedule()
    scheduler = beat.SingleBeatScheduler(app=app)
    try:
        def refuse(self: DatabaseScheduler, *args: object, **kwargs: object) -> float:
            raise OperationalError("locking protocol")

        with monkeypatch.context() as patched:
            patched.setattr(DatabaseScheduler, "tick", refuse)
            assert scheduler.tick() == beat.RETRY_S
        assert "beat could not read its schedule" in caplog.text
        assert scheduler.tick() <= beat.HEARTBEAT_EVERY_S  # the next tick schedules as usual
    finally:
        scheduler.lock.release()
