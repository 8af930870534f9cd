"""The pure accounting rules, on hand-made series (no database)."""

from __future__ import annotations

import pytest

from aggregation.accounting import Limits, Mode, Series, covered_seconds, flow_energy, positive_part, split

pytestmark = pytest.mark.timeout(10)

# 10 kW cap, 30 s gap: in 10 s a counter may advance at most 10000·10/3.6e6 + 0.1 ≈ 0.128 kWh.
LIMITS = Limits(cap_w=10000, max_gap_s=30, resolution_kwh=0.1)


def counter_series(values: list[float | None], step: float = 10.0) -> Series:
    return Series([i * step for i in range(len(values))], values, None, LIMITS)


def booked(series: Series) -> float:
    return sum(s.kwh for s in series.segments())


def test_positive_part_of_a_ramp_crossing_zero_is_the_triangle_above_zero() -> None:
    # From +1000 W to -3000 W over 40 s: zero after 10 s; above zero a triangle 1000 W × 10 s / 2.
    assert positive_part(1000, -3000, 40) == pytest.approx(1000 * 10 / 2 / 3.6e6)
    assert positive_part(3000, 1000, 3600) == pytest.approx(2.0)
    assert positive_part(-1000, -3000, 40) == 0.0


def test_daily_counter_reset_books_the_energy_since_the_reset() -> None:
    # 12.30 kWh before midnight, then the device resets and counts 0.00, 0.02, 0.05.
    series = counter_series([12.26, 12.30, 0.0, 0.02, 0.05])
    assert booked(series) == pytest.approx(0.04 + 0.0 + 0.02 + 0.03)


@pytest.mark.parametrize("bad", [99.0, 0.0, 12.1], ids=["spike", "zero", "backward"])
def test_single_glitch_is_not_booked_and_the_next_delta_uses_the_last_good_value(bad: float) -> None:
    series = counter_series([12.20, 12.22, bad, 12.26, 12.28])
    assert booked(series) == pytest.approx(0.08)
    assert [s.mode for s in series.segments()][2] is Mode.GLITCH


def test_a_lasting_jump_is_not_booked() -> None:
    # The counter jumps by 50 kWh and stays there: a firmware change, not energy.
    series = counter_series([12.20, 12.22, 62.22, 62.24, 62.26])
    assert booked(series) == pytest.approx(0.02 + 0.02 + 0.02)


def test_integration_does_not_cross_a_gap_and_the_gap_lowers_coverage() -> None:
    times = [0.0, 10.0, 20.0, 320.0, 330.0]  # a 300 s gap, longer than 30 s
    powers = [3600.0] * 5
    series = Series(times, None, powers, LIMITS)
    energy, _ = flow_energy(series, [0.0, 400.0])
    assert energy[0] == pytest.approx(3600 * 30 / 3.6e6)  # 3 intervals of 10 s
    assert covered_seconds(times, 30, [0.0, 400.0]) == [pytest.approx(30.0)]


def test_energy_across_a_bucket_boundary_is_shared_in_proportion_to_time() -> None:
    series = Series([0.0, 100.0], None, [3600.0, 3600.0], Limits(cap_w=1e4, max_gap_s=200))
    first, second = split(series.segments(), [0.0, 25.0, 100.0])
    assert first == pytest.approx(0.1 * 25 / 100) and second == pytest.approx(0.1 * 75 / 100)


def test_counters_are_preferred_and_power_fills_in_where_the_counter_is_missing() -> None:
    times = [0.0, 10.0, 20.0, 30.0]
    series = Series(times, [5.0, 5.01, None, None], [3600.0] * 4, LIMITS)
    modes = [s.mode for s in series.segments()]
    assert modes == [Mode.NONE, Mode.COUNTER, Mode.INTEGRATED, Mode.INTEGRATED]
    assert booked(series) == pytest.approx(0.01 + 2 * 0.01)
