"""The SQL path: per-device, per-quarter-hour energy and statistics, computed in the database.

One query per sample table and local day. Window functions (LAG/LEAD over each device's rows in
time order) give every sample its neighbours; plain expressions then apply the rules of
:mod:`aggregation.accounting` (neighbours within the gap, glitches, resets, counter deltas,
trapezoids split at the zero crossing); a GROUP BY sums the result into UTC quarter-hour slots,
splitting a segment that crosses a slot boundary in proportion to time. The same SQL runs on
SQLite and PostgreSQL; only the epoch expression differs.

Column names of the result: ``dev``, ``slot``, ``n`` (samples), ``cov`` (covered seconds),
``e_<flow>`` (kWh), ``nc_<flow>``/``ni_<flow>`` (counter/integrated segments), ``gl_<flow>``
(glitches discarded), ``rb_<flow>`` (rebases), and ``sum_/cnt_/max_/min_<stat>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from aggregation.buckets import SLOT_S

Row = dict[str, Any]


@dataclass(frozen=True)
class Flow:
    """An energy flow: the positive part of ``sign × power``, or a counter when there is one."""

    name: str
    power: str
    sign: int = 1
    counter: str | None = None


@dataclass(frozen=True)
class Table:
    """How to read one sample table: expressions (alias → SQL), flows and statistics."""

    name: str
    device: str
    columns: Mapping[str, str]
    flows: tuple[Flow, ...]
    stats: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    resolution_kwh: float = 0.1


@dataclass(frozen=True)
class Device:
    """Per-device limits: plausible power (W) and the longest gap bridged (s)."""

    device_id: str
    cap_w: float
    max_gap_s: float


def _num(expr: str) -> str:
    return f"CAST({expr} AS DOUBLE PRECISION)"


def epoch_sql() -> str:
    """Seconds since the epoch of the ``ts`` column, in this connection's dialect."""
    if connection.vendor == "postgresql":
        return "CAST(EXTRACT(EPOCH FROM ts) AS DOUBLE PRECISION)"
    # Rounded to the millisecond: julianday's float is exact to ~50 µs, and a sample on a slot
    # boundary must land exactly on it.
    return "ROUND((julianday(ts) - 2440587.5) * 86400.0, 3)"


def _plaus(a: str, b: str, dt: str, res: float) -> str:
    return (f"({a} IS NOT NULL AND {b} IS NOT NULL AND {b} - {a} >= 0 "
            f"AND {b} - {a} <= cap * ({dt}) + {res!r})")


def _positive_part(a: str, b: str, dt: str) -> str:
    """kWh of the positive part of a ramp a → b (W) over dt seconds, split at the zero crossing."""
    return (f"(CASE WHEN {a} >= 0 AND {b} >= 0 THEN ({a} + {b}) * ({dt}) / 7200000.0 "
            f"WHEN {a} <= 0 AND {b} <= 0 THEN 0.0 "
            f"ELSE ((CASE WHEN {a} > 0 THEN {a} * {a} ELSE 0.0 END) + (CASE WHEN {b} > 0 THEN {b} * {b} "
            f"ELSE 0.0 END)) * ({dt}) / (2.0 * (ABS({a}) + ABS({b}))) / 3600000.0 END)")


def _signed(alias: str, sign: int) -> str:
    return alias if sign > 0 else f"(-{alias})"


def _windowed(table: Table, devices: int) -> str:
    """Stage 1: the rows with their neighbours (LAG/LEAD), per-device limits and slot."""
    ep = epoch_sql()
    cols = [f"{table.device} AS dev", f"{ep} AS t"]
    cols += [f"{_num(expr)} AS {alias}" for alias, expr in table.columns.items()]
    cols += [f"LAG({ep}) OVER win AS tp1", f"LAG({ep}, 2) OVER win AS tp2", f"LEAD({ep}) OVER win AS tn1"]
    powers = {f.power for f in table.flows}
    cols += [f"LAG({_num(table.columns[p])}) OVER win AS {p}_1" for p in sorted(powers)]
    for c in sorted({f.counter for f in table.flows if f.counter}):
        expr = _num(table.columns[c])
        cols += [f"LAG({expr}) OVER win AS {c}_1", f"LAG({expr}, 2) OVER win AS {c}_2",
                 f"LEAD({expr}) OVER win AS {c}_n"]
    # Filtering on the device ids (not system_id) lets the (device, ts) index bound the read to the
    # range, so the cost of a day does not grow with the table.
    marks = ", ".join(["%s"] * devices)
    sql = (f"SELECT {', '.join(cols)} FROM {table.name} WHERE {table.device} IN ({marks}) "
           f"AND ts >= %s AND ts < %s "
           f"WINDOW win AS (PARTITION BY {table.device} ORDER BY ts)")
    return sql


def _device_case(devices: list[Device], attr: str, default: float) -> tuple[str, list[Any]]:
    if not devices:
        return repr(float(default)), []
    params: list[Any] = []
    whens = []
    for d in devices:
        whens.append("WHEN %s THEN %s")
        params += [d.device_id, float(getattr(d, attr))]
    return f"(CASE dev {' '.join(whens)} ELSE {float(default)!r} END)", params


def _neighbours(devices: list[Device], default_gap: float, default_cap: float) -> tuple[str, list[Any]]:
    """Stage 2: the device's limits (cap in kWh per second), which neighbours are within the gap."""
    gap, gap_params = _device_case(devices, "max_gap_s", default_gap)
    cap, cap_params = _device_case(devices, "cap_w", default_cap)
    limits = f"SELECT w.*, {cap} / 3600000.0 AS cap, {gap} AS gap FROM w"
    sql = (f"SELECT l.*, CASE WHEN t - tp1 <= gap THEN 1 ELSE 0 END AS np1, "
           f"CASE WHEN t - tp1 <= gap AND tp1 - tp2 <= gap THEN 1 ELSE 0 END AS np2, "
           f"CASE WHEN tn1 - t <= gap THEN 1 ELSE 0 END AS nn1, "
           f"FLOOR(t / {SLOT_S}.0) AS s FROM ({limits}) l")
    return sql, cap_params + gap_params


def _glitches(table: Table) -> str:
    """Stage 3: per counter, whether this reading and the previous one are isolated glitches."""
    res = table.resolution_kwh
    cols = ["n.*"]
    for c in sorted({f.counter for f in table.flows if f.counter}):
        here = (f"np1 = 1 AND nn1 = 1 AND {c} IS NOT NULL AND {_plaus(f'{c}_1', f'{c}_n', 'tn1 - tp1', res)} "
                f"AND NOT ({_plaus(f'{c}_1', c, 't - tp1', res)} AND {_plaus(c, f'{c}_n', 'tn1 - t', res)})")
        prev = (f"np2 = 1 AND {c} IS NOT NULL AND {_plaus(f'{c}_2', c, 't - tp2', res)} "
                f"AND NOT ({_plaus(f'{c}_2', f'{c}_1', 'tp1 - tp2', res)} "
                f"AND {_plaus(f'{c}_1', c, 't - tp1', res)})")
        cols.append(f"CASE WHEN {here} THEN 1 ELSE 0 END AS gl_{c}")
        cols.append(f"CASE WHEN {prev} THEN 1 ELSE 0 END AS glp_{c}")
        cols.append(f"CASE WHEN {prev} THEN {c}_2 WHEN np1 = 1 THEN {c}_1 END AS pk_{c}")
        cols.append(f"CASE WHEN {prev} THEN tp2 ELSE tp1 END AS tk_{c}")
    return f"SELECT {', '.join(cols)} FROM n"


def _mode(flow: Flow) -> str:
    integrate = f"np1 = 1 AND {flow.power} IS NOT NULL AND {flow.power}_1 IS NOT NULL"
    if flow.counter is None:
        return f"CASE WHEN {integrate} THEN 2 ELSE 0 END"
    c = flow.counter
    return (f"CASE WHEN {c} IS NOT NULL AND gl_{c} = 1 THEN 3 "
            f"WHEN {c} IS NOT NULL AND pk_{c} IS NOT NULL THEN 1 WHEN {integrate} THEN 2 ELSE 0 END")


def _energies(table: Table) -> str:
    """Stage 4: per flow, its mode (0 none, 1 counter, 2 integrated, 3 glitch), kWh and start."""
    res = table.resolution_kwh
    cols = ["g.*"]
    for f in table.flows:
        trap = _positive_part(_signed(f"{f.power}_1", f.sign), _signed(f.power, f.sign), "t - tp1")
        mode = _mode(f)
        if f.counter:
            c = f.counter
            delta = (f"CASE WHEN {_plaus(f'pk_{c}', c, f't - tk_{c}', res)} THEN {c} - pk_{c} "
                     f"WHEN {c} <= cap * (t - tk_{c}) + {res!r} THEN {c} ELSE 0.0 END")
            cols.append(f"CASE ({mode}) WHEN 1 THEN {delta} WHEN 2 THEN {trap} ELSE 0.0 END AS e_{f.name}")
            cols.append(f"CASE ({mode}) WHEN 1 THEN tk_{c} WHEN 2 THEN tp1 ELSE t END AS t0_{f.name}")
            cols.append(f"CASE WHEN ({mode}) = 1 AND NOT {_plaus(f'pk_{c}', c, f't - tk_{c}', res)} "
                        f"THEN 1 ELSE 0 END AS rb_{f.name}")
        else:
            cols.append(f"CASE ({mode}) WHEN 2 THEN {trap} ELSE 0.0 END AS e_{f.name}")
            cols.append(f"CASE ({mode}) WHEN 2 THEN tp1 ELSE t END AS t0_{f.name}")
            cols.append(f"0 AS rb_{f.name}")
        cols.append(f"{mode} AS m_{f.name}")
    return f"SELECT {', '.join(cols)} FROM g"


def _parts(table: Table) -> str:
    """Stage 5: each row's energy split between its own slot (``a``) and the previous one (``b``),
    where its interval started; and which modes contributed to each part."""
    b = f"(s * {SLOT_S}.0)"

    def own(t0: str) -> str:
        return f"(t - (CASE WHEN {t0} > {b} THEN {t0} ELSE {b} END))"

    def before(t0: str) -> str:
        return f"(CASE WHEN {t0} < {b} THEN {b} - {t0} ELSE 0.0 END)"

    cols = ["dev", "CAST(s AS INTEGER) AS s", *table.stats,
            f"CASE WHEN np1 = 1 THEN {own('tp1')} ELSE 0.0 END AS cov_a",
            f"CASE WHEN np1 = 1 THEN {before('tp1')} ELSE 0.0 END AS cov_b"]
    starts = [f"t0_{f.name}" for f in table.flows] + ["(CASE WHEN np1 = 1 THEN tp1 ELSE t END)"]
    cols.append(f"CASE WHEN {' OR '.join(f'{t0} < {b}' for t0 in starts)} THEN 1 ELSE 0 END AS hasb")
    for f in table.flows:
        t0 = f"t0_{f.name}"
        for part, span in (("a", own(t0)), ("b", before(t0))):
            cols.append(f"CASE WHEN {t0} < t THEN e_{f.name} * {span} / (t - {t0}) ELSE 0.0 END "
                        f"AS {part}_{f.name}")
            cols.append(f"CASE WHEN m_{f.name} = 1 AND {t0} < t AND {span} > 0 THEN 1 ELSE 0 END "
                        f"AS {part}c_{f.name}")
            cols.append(f"CASE WHEN m_{f.name} = 2 AND {t0} < t AND {span} > 0 THEN 1 ELSE 0 END "
                        f"AS {part}i_{f.name}")
        cols.append(f"CASE WHEN m_{f.name} = 3 THEN 1 ELSE 0 END AS gl_{f.name}")
        cols.append(f"rb_{f.name}")
    return f"SELECT {', '.join(cols)} FROM e"


def _slot_aggregates(table: Table) -> str:
    """Stage 6: sum into slots: every row's own part, plus the previous-slot parts (rare)."""
    own = ["dev", "s AS slot", "1 AS n", "cov_a AS cov", *table.stats]
    before = ["dev", "s - 1", "0", "cov_b", *(["NULL"] * len(table.stats))]
    sums = ["n", "cov"]
    for f in table.flows:
        own += [f"a_{f.name}", f"ac_{f.name}", f"ai_{f.name}", f"gl_{f.name}", f"rb_{f.name}"]
        before += [f"b_{f.name}", f"bc_{f.name}", f"bi_{f.name}", "0", "0"]
        sums += [f"a_{f.name} AS e_{f.name}", f"ac_{f.name} AS nc_{f.name}", f"ai_{f.name} AS ni_{f.name}",
                 f"gl_{f.name}", f"rb_{f.name}"]
    cols = ["dev", "slot"] + [f"SUM({x.split(' AS ')[0]}) AS {x.split(' AS ')[-1]}" for x in sums]
    names = {"sum": "SUM", "cnt": "COUNT", "max": "MAX", "min": "MIN"}
    for alias, aggs in table.stats.items():
        cols += [f"{names[a]}({alias}) AS {a}_{alias}" for a in aggs]
    union = (f"SELECT {', '.join(own)} FROM p UNION ALL "
             f"SELECT {', '.join(before)} FROM p WHERE hasb = 1")
    return f"SELECT {', '.join(cols)} FROM ({union}) u GROUP BY dev, slot"


def slot_query(table: Table, devices: list[Device], *, default_gap: float, default_cap: float
               ) -> tuple[str, list[Any]]:
    """The whole query; its parameters are completed by :func:`run` with (device ids, start, end)."""
    w = _windowed(table, len(devices))
    n, n_params = _neighbours(devices, default_gap, default_cap)
    sql = (f"WITH w AS MATERIALIZED ({w}), n AS MATERIALIZED ({n}), g AS MATERIALIZED ({_glitches(table)}), "
           f"e AS MATERIALIZED ({_energies(table)}), p AS MATERIALIZED ({_parts(table)}) "
           f"{_slot_aggregates(table)}")
    return sql, n_params


def run(table: Table, devices: list[Device], start: datetime, end: datetime, *,
        default_gap: float, default_cap: float) -> dict[tuple[str, int], Row]:
    """Per (device, slot) aggregates of the given devices' samples in [start, end) of ``table``."""
    if not devices:
        return {}
    sql, params = slot_query(table, devices, default_gap=default_gap, default_cap=default_cap)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(d.device_id for d in devices), adapt(start), adapt(end), *params])
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    return {(r[0], int(r[1])): dict(zip(names, r, strict=True)) for r in rows}
