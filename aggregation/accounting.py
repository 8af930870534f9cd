"""Energy accounting, as pure functions: the reference the SQL path is tested against.

No Django here. Times are epoch seconds, powers W, energies kWh. The rules (docs/energy.md):

* **Neighbours.** Two consecutive samples of a device are neighbours only if they are at most
  ``max_gap_s`` apart. Nothing is booked across a longer gap, and it does not count as covered.
* **Counters first.** For each sample with a counter value, the energy since the previous
  *kept* reading is the counter delta. A step is plausible when ``0 <= delta <= cap_w·dt +
  resolution`` (a backward step of float noise, under ``NOISE_KWH``, counts as 0). A reading is an
  isolated glitch (discarded, logged, never booked) when its two neighbours agree with each other
  but not with it: a spike, a zero, a backward step. The next reading is then compared with the
  last good one. A non-plausible step that is not a glitch is a
  *rebase*: a reset (the daily reset at the device's midnight, a firmware reset, a wrap) when the
  new value is small enough to be the energy since the reset, which is then booked; otherwise
  (a counter that jumped or went back for good) nothing is booked for that step.
* **Otherwise trapezoidal integration** of power between neighbours, split into its positive
  and negative parts at the zero crossing (grid import/export, battery charge/discharge).
* **Buckets.** A segment's energy is split between buckets in proportion to time.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

log = logging.getLogger(__name__)

J_PER_KWH = 3.6e6
# Counters computed in floating point (by a device or a unit conversion) can step back by a few
# ulps; such a step is noise, not a backward step, so it is within tolerance.
NOISE_KWH = 1e-9


class Mode(Enum):
    """How a sample's interval is accounted for one flow."""

    NONE = "none"  # no neighbour, or no data: nothing booked
    COUNTER = "counter"
    INTEGRATED = "integrated"
    GLITCH = "glitch"  # discarded; the next reading bridges over it


@dataclass(frozen=True)
class Limits:
    """Plausibility bounds of one device's counters and the longest gap bridged."""

    cap_w: float
    max_gap_s: float
    resolution_kwh: float = 0.1

    def max_kwh(self, dt: float) -> float:
        """The most energy that can plausibly appear on a counter in ``dt`` seconds."""
        return self.cap_w * dt / J_PER_KWH + self.resolution_kwh


@dataclass(frozen=True)
class Segment:
    """Energy booked over the interval (t0, t1]."""

    t0: float
    t1: float
    kwh: float
    mode: Mode


def plausible(a: float | None, b: float | None, dt: float, limits: Limits) -> bool:
    """Whether a counter can go from ``a`` to ``b`` in ``dt`` seconds."""
    if a is None or b is None:
        return False
    return -NOISE_KWH <= b - a <= limits.max_kwh(dt)


def positive_part(a: float, b: float, dt: float) -> float:
    """kWh of the positive part of a linear ramp from ``a`` W to ``b`` W over ``dt`` seconds.

    A ramp that crosses zero is split at the crossing, as the plant model does; the negative
    part of ``(a, b)`` is ``positive_part(-a, -b, dt)``.
    """
    if a >= 0 and b >= 0:
        return (a + b) / 2 * dt / J_PER_KWH
    if a <= 0 and b <= 0:
        return 0.0
    # The crossing is at dt·|a|/(|a|+|b|); the positive triangle is the one on the side > 0.
    pos = max(a, 0.0) ** 2 + max(b, 0.0) ** 2
    return pos * dt / (2 * (abs(a) + abs(b))) / J_PER_KWH


class Series:
    """One device's samples of one flow: times, counter values and (signed) powers.

    ``sign`` selects the flow's part of the power: +1 the positive part (PV, load, import,
    charge), -1 the negative part (export, discharge).
    """

    def __init__(self, times: Sequence[float], counters: Sequence[float | None] | None,
                 powers: Sequence[float | None] | None, limits: Limits, sign: int = 1) -> None:
        self.t = list(times)
        n = len(self.t)
        self.x: list[float | None] = list(counters) if counters is not None else [None] * n
        self.p: list[float | None] = list(powers) if powers is not None else [None] * n
        self.limits = limits
        self.sign = sign

    def near(self, i: int, j: int) -> bool:
        """Whether rows i and j exist and are neighbours (j = i ± 1) within the gap."""
        if not (0 <= i < len(self.t) and 0 <= j < len(self.t)):
            return False
        return abs(self.t[i] - self.t[j]) <= self.limits.max_gap_s

    def glitch(self, i: int) -> bool:
        """An isolated bad reading: its neighbours agree with each other but not with it."""
        if not (self.near(i, i - 1) and self.near(i, i + 1)):
            return False
        prev, cur, nxt = self.x[i - 1], self.x[i], self.x[i + 1]
        if prev is None or cur is None or nxt is None:
            return False
        t = self.t
        if not plausible(prev, nxt, t[i + 1] - t[i - 1], self.limits):
            return False
        return not (plausible(prev, cur, t[i] - t[i - 1], self.limits)
                    and plausible(cur, nxt, t[i + 1] - t[i], self.limits))

    def last_good(self, i: int) -> int | None:
        """The row the counter delta of row i starts from: the previous one, or the one before a glitch."""
        if not self.near(i, i - 1):
            return None
        if self.glitch(i - 1):
            return i - 2
        return i - 1 if self.x[i - 1] is not None else None

    def counter_delta(self, k: int, i: int) -> float:
        """Energy from row k to row i: the delta, or after a reset the new value, or nothing."""
        prev, cur = self.x[k], self.x[i]
        assert prev is not None and cur is not None
        dt = self.t[i] - self.t[k]
        if plausible(prev, cur, dt, self.limits):
            return cur - prev
        if cur <= self.limits.max_kwh(dt):
            log.info("counter reset at %s: %.3f -> %.3f kWh; booking the new value", self.t[i], prev, cur)
            return cur
        log.warning("counter jump at %s: %.3f -> %.3f kWh not booked", self.t[i], prev, cur)
        return 0.0

    def segment(self, i: int) -> Segment:
        """What row i books for the interval since its predecessor."""
        t = self.t
        if self.x[i] is not None:
            if self.glitch(i):
                log.warning("counter glitch at %s (%.3f kWh) discarded", t[i], self.x[i])
                return Segment(t[i], t[i], 0.0, Mode.GLITCH)
            k = self.last_good(i)
            if k is not None:
                return Segment(t[k], t[i], self.counter_delta(k, i), Mode.COUNTER)
        if not self.near(i, i - 1):
            return Segment(t[i], t[i], 0.0, Mode.NONE)
        a, b = self.p[i - 1], self.p[i]
        if a is None or b is None:
            return Segment(t[i], t[i], 0.0, Mode.NONE)
        kwh = positive_part(self.sign * a, self.sign * b, t[i] - t[i - 1])
        return Segment(t[i - 1], t[i], kwh, Mode.INTEGRATED)

    def segments(self) -> list[Segment]:
        """One segment per sample (the first sample's is empty)."""
        return [self.segment(i) for i in range(len(self.t))]


def split(segments: Sequence[Segment], boundaries: Sequence[float]) -> list[float]:
    """kWh per bucket ``[boundaries[j], boundaries[j+1])``, each segment split in proportion to time.

    Energy outside the boundaries is dropped.
    """
    out = [0.0] * (len(boundaries) - 1)
    for seg in segments:
        for j, share in _shares(seg.t0, seg.t1, boundaries):
            out[j] += seg.kwh * share
    return out


def _shares(t0: float, t1: float, boundaries: Sequence[float]) -> list[tuple[int, float]]:
    """(bucket, fraction of (t0, t1]) for every bucket the interval overlaps."""
    if t1 <= t0:
        return []
    first = max(0, bisect.bisect_right(boundaries, t0) - 1)
    shares = []
    for j in range(first, len(boundaries) - 1):
        lo, hi = max(t0, boundaries[j]), min(t1, boundaries[j + 1])
        if lo >= t1:
            break
        if hi > lo:
            shares.append((j, (hi - lo) / (t1 - t0)))
    return shares


def covered_seconds(times: Sequence[float], max_gap_s: float, boundaries: Sequence[float]) -> list[float]:
    """Seconds of each bucket that lie between neighbouring samples (not across a gap)."""
    out = [0.0] * (len(boundaries) - 1)
    for t0, t1 in itertools.pairwise(times):
        if t1 - t0 > max_gap_s:
            continue
        for j, share in _shares(t0, t1, boundaries):
            out[j] += share * (t1 - t0)
    return out


def flow_energy(series: Series, boundaries: Sequence[float]) -> tuple[list[float], list[set[Mode]]]:
    """kWh per bucket of one flow, and which modes contributed to each bucket."""
    segs = series.segments()
    modes: list[set[Mode]] = [set() for _ in range(len(boundaries) - 1)]
    for seg in segs:
        if seg.mode in (Mode.COUNTER, Mode.INTEGRATED):
            for j, _ in _shares(seg.t0, seg.t1, boundaries):
                modes[j].add(seg.mode)
    return split(segs, boundaries), modes


def source_of(modes: set[Mode]) -> str:
    """'counter', 'integrated', 'mixed' or 'none' for the modes seen in a bucket."""
    kinds = modes & {Mode.COUNTER, Mode.INTEGRATED}
    if not kinds:
        return "none"
    if len(kinds) == 2:
        return "mixed"
    return next(iter(kinds)).value


def combine_sources(sources: Sequence[str]) -> str:
    """The source of a sum of rows: one kind if they agree, else mixed."""
    kinds = {s for s in sources if s != "none"}
    if not kinds:
        return "none"
    return kinds.pop() if len(kinds) == 1 else "mixed"
