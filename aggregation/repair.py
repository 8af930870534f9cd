"""Slots around a bad counter step, recomputed from the raw rows with the reference functions.

A step between two neighbouring readings that is not plausible (a glitch, a reset, a jump) changes
how the samples next to it are booked: an isolated glitch is discarded and the next reading is
compared with the one before it. Only the samples within one of such a step are affected, and
their intervals reach at most three gaps back, so the slots overlapping
``[bad - 3·gap, bad + gap]`` are recomputed here with :class:`aggregation.accounting.Series`, and
their energies and modes replace the one-window result of :mod:`aggregation.sql`. Bad steps are
rare, so this reads few rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from aggregation import accounting as acc
from aggregation.buckets import SLOT_S
from aggregation.sql import Device, Row, Table, epoch_sql, num


def bad_steps(table: Table, devices: list[Device], groups: list[Row], slots: dict[tuple[str, int], Row], *,
              default_gap: float, default_cap: float) -> None:
    """Recompute, in ``slots``, the energies of every slot near a bad step that ``groups`` report."""
    limits = {d.device_id: d for d in devices}
    spans: dict[str, list[tuple[int, int]]] = {}
    for g in groups:
        if g["bad_lo"] is None:
            continue
        dev = limits.get(g["dev"]) or Device(g["dev"], default_cap, default_gap)
        first = int((g["bad_lo"] - 3 * dev.max_gap_s) // SLOT_S)
        last = int((g["bad_hi"] + dev.max_gap_s) // SLOT_S)
        spans.setdefault(dev.device_id, []).append((first, last))
    for dev_id, found in spans.items():
        dev = limits.get(dev_id) or Device(dev_id, default_cap, default_gap)
        for first, last in _merged(found):
            _recompute(table, dev, first, last, slots)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def _fetch(table: Table, dev: Device, first: int, last: int) -> list[tuple[Any, ...]]:
    """The device's rows from two gaps before slot ``first`` to a gap after slot ``last``."""
    start = datetime.fromtimestamp(first * SLOT_S - 2 * dev.max_gap_s - 1, UTC)
    end = datetime.fromtimestamp((last + 1) * SLOT_S + dev.max_gap_s + 1, UTC)
    names = [*table.counters, *table.powers]
    cols = ", ".join([epoch_sql(), *(num(table.columns[n]) for n in names)])
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {cols} FROM {table.name} WHERE {table.device} = %s AND ts >= %s AND ts < %s "
                       "ORDER BY ts", [dev.device_id, adapt(start), adapt(end)])
        return cursor.fetchall()


def _recompute(table: Table, dev: Device, first: int, last: int, slots: dict[tuple[str, int], Row]) -> None:
    rows = _fetch(table, dev, first, last)
    names = [*table.counters, *table.powers]
    column = {name: [r[i + 1] for r in rows] for i, name in enumerate(names)}
    times = [float(r[0]) for r in rows]
    limits = acc.Limits(dev.cap_w, dev.max_gap_s, table.resolution_kwh)
    bounds = [float(s * SLOT_S) for s in range(first, last + 2)]
    for f in table.flows:
        series = acc.Series(times, column[f.counter] if f.counter else None, column[f.power], limits, f.sign)
        segments = [seg for seg in series.segments() if seg.t1 < dev.book_before]
        energies = acc.split(segments, bounds)
        for j, s in enumerate(range(first, last + 1)):
            key = (dev.device_id, s)
            if key not in slots and not energies[j]:
                continue
            row = slots.setdefault(key, {"n": 0, "cov": 0.0})
            row[f"e_{f.name}"] = energies[j]
            row[f"nc_{f.name}"] = row[f"ni_{f.name}"] = row[f"gl_{f.name}"] = row[f"rb_{f.name}"] = 0
        _count(f.name, series, segments, bounds, first, dev.device_id, slots)


def _count(flow: str, series: acc.Series, segments: list[acc.Segment], bounds: list[float], first: int,
           dev: str, slots: dict[tuple[str, int], Row]) -> None:
    """Modes per slot (counter/integrated segments), glitches and rebases per slot of their sample."""
    for i, seg in enumerate(segments):
        if seg.mode in (acc.Mode.COUNTER, acc.Mode.INTEGRATED):
            kind = "nc" if seg.mode is acc.Mode.COUNTER else "ni"
            for j, _ in acc._shares(seg.t0, seg.t1, bounds):
                row = slots.get((dev, first + j))
                if row is not None:
                    row[f"{kind}_{flow}"] += 1
        own = slots.get((dev, int(seg.t1 // SLOT_S)))
        if own is None or not bounds[0] <= seg.t1 < bounds[-1]:
            continue
        if seg.mode is acc.Mode.GLITCH:
            own[f"gl_{flow}"] += 1
        elif seg.mode is acc.Mode.COUNTER:
            k = series.last_good(i)
            if k is not None and not acc.plausible(series.x[k], series.x[i], series.t[i] - series.t[k],
                                                   series.limits):
                own[f"rb_{flow}"] += 1
