"""The alert state machine: raised once after its delay, cleared once past the hysteresis."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from alerts.evaluation import Decision, decide
from alerts.kinds.base import Observation, above

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HIGH, HYSTERESIS = 50.0, 10.0


def run(values: Sequence[float], raise_after_s: float = 3, clear_after_s: float = 3) -> list[tuple[int, str]]:
    """Feed one value per second through the machine; the (second, event) pairs that happened."""
    active, since, events = False, None, []
    for second, value in enumerate(values):
        bad, clear = above(value, HIGH, HYSTERESIS)
        d: Decision = decide(active, since, Observation(bad, clear, {"v": value}),
                             T0 + timedelta(seconds=second), raise_after_s, clear_after_s)
        active, since = d.active, d.since
        if d.event:
            events.append((second, d.event))
    return events


def test_a_condition_is_raised_only_once_it_has_held_for_the_delay() -> None:
    assert run([60, 60, 60, 60, 60, 60]) == [(3, "raised")]


def test_a_short_spike_raises_nothing() -> None:
    assert run([60, 60, 30, 60, 60, 30, 60]) == []


def test_a_value_hovering_at_the_limit_does_not_flap() -> None:
    # Raised, then the value wanders between the limit and the hysteresis band for a long time.
    hovering = [60] * 4 + [45, 52, 41, 55, 44, 49, 51, 43] * 5
    assert run(hovering) == [(3, "raised")]


def test_it_clears_once_when_the_value_stays_back_past_the_hysteresis() -> None:
    values = [60] * 4 + [35, 35, 45, 35, 35, 35, 35, 35]
    # The dip to 45 (inside the band) restarts the clear delay: cleared 3 s after the last return.
    assert run(values) == [(3, "raised"), (10, "cleared")]


def test_zero_delays_raise_and_clear_on_the_first_observation() -> None:
    events = run([60, 35, 60], raise_after_s=0, clear_after_s=0)
    assert events == [(0, "raised"), (1, "cleared"), (2, "raised")]


def test_the_start_the_data_gives_counts_instead_of_the_first_look() -> None:
    # An offline device: stale since 10 s before the first periodic look, delay 5 s → raised at once.
    obs = Observation(True, False, {}, since=T0 - timedelta(seconds=10))
    assert decide(False, None, obs, T0, 5, 0).event == "raised"
    assert decide(False, None, obs, T0, 15, 0) == Decision(False, T0 - timedelta(seconds=10))
