"""Batches of the sample copy stay short on a busy machine, so a writer beside the import gets in."""

from __future__ import annotations

from legacy.services import BATCH_TARGET_S, _next_batch


def test_a_slow_batch_makes_the_next_one_short_enough_and_quick_ones_grow_back_to_the_setting() -> None:
    most = 10_000
    # A batch of 10,000 rows that held the lock 2 s: the next one is sized for the target.
    smaller = _next_batch(most, most, 2.0)
    assert smaller * 2.0 / most <= BATCH_TARGET_S[1] + 1e-9
    assert smaller >= 100
    # Quick batches double, never past the setting.
    sizes = [smaller]
    while sizes[-1] < most:
        sizes.append(_next_batch(sizes[-1], most, 0.01))
    assert sizes[-1] == most and len(sizes) < 10
    # A batch within the target keeps its size.
    assert _next_batch(5_000, most, 0.1) == 5_000
