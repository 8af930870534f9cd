"""Combining slot aggregates from the database into hours and days, and reading figures off them.

An aggregate is the dict of one result row of :mod:`aggregation.sql`: sums, counts, maxima and
minima, so slots combine into hours and days exactly (an average is a sum over a count).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aggregation.accounting import combine_sources

Agg = dict[str, Any]
FLOWS = ("pv", "load", "charge", "discharge", "import", "export")


def merge(aggs: Iterable[Agg]) -> Agg:
    """Combine aggregates: maxima by max, minima by min, everything else by sum."""
    out: Agg = {}
    for agg in aggs:
        for key, value in agg.items():
            if value is None:
                continue
            have = out.get(key)
            if have is None:
                if key not in _KEYS_NOT_MERGED:
                    out[key] = value
                continue
            op = _OPS.get(key)
            if op is None:
                op = _OPS[key] = max if key.startswith("max_") else min if key.startswith("min_") else _add
            out[key] = op(have, value)
    return out


_KEYS_NOT_MERGED = frozenset({"dev", "slot"})
_OPS: dict[str, Any] = {}


def _add(a: Any, b: Any) -> Any:
    return a + b


def avg(agg: Agg, name: str) -> float | None:
    count = agg.get(f"cnt_{name}") or 0
    return agg[f"sum_{name}"] / count if count else None


def energy(agg: Agg, flow: str) -> float:
    return float(agg.get(f"e_{flow}") or 0.0)


def source(agg: Agg, flows: Iterable[str]) -> str:
    """counter / integrated / mixed / none, from the segment counts of the given flows."""
    kinds = []
    for flow in flows:
        if agg.get(f"nc_{flow}"):
            kinds.append("counter")
        if agg.get(f"ni_{flow}"):
            kinds.append("integrated")
    return combine_sources(kinds)


def coverage(agg: Agg, seconds: float) -> float:
    return min(1.0, float(agg.get("cov") or 0.0) / seconds) if seconds else 0.0


def count(agg: Agg) -> int:
    return int(agg.get("n") or 0)


def soc_figures(aggs: list[Agg]) -> tuple[float | None, float | None, float | None]:
    """(min, max, average) SOC over aggregates that have SOC samples."""
    with_soc = [a for a in aggs if a.get("cnt_soc")]
    if not with_soc:
        return None, None, None
    merged = merge(with_soc)
    return merged.get("min_soc"), merged.get("max_soc"), avg(merged, "soc")


def peak_of_sums(slot_aggs: Iterable[list[Agg]], name: str) -> tuple[float | None, float | None]:
    """(max, min) over slots of the summed average power of several devices (array/system peaks)."""
    totals = []
    for members in slot_aggs:
        values = [avg(a, name) for a in members]
        present = [v for v in values if v is not None]
        if present:
            totals.append(sum(present))
    return (max(totals), min(totals)) if totals else (None, None)
