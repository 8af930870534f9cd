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
