"""The SQL path: per-device, per-5-minute-slot energy and statistics, computed in the database.

One query per sample table and local day, in one pass over the rows. Every sample is first given
its predecessor's time, counters and powers (PostgreSQL: one window over each device's rows;
SQLite: a numbered copy of the rows joined to row number + 1, see :func:`_rows`). A few plain
expressions then book the interval since it (a counter delta, else the trapezoid of power split
at the zero crossing), and a GROUP BY sums the result into UTC 5-minute slots. Apart from the
pairing, the same SQL runs on SQLite and PostgreSQL; only the epoch expression differs.

The rules of :mod:`aggregation.accounting` that need more than the previous sample (isolated
glitches, resets, jumps) only matter near a *bad step*: two neighbouring readings of a counter
that are not a plausible step. The query reports where those are; the few slots around them are
then recomputed from the raw rows with the reference functions themselves
(:mod:`aggregation.repair`). Everywhere else the previous reading is the last good one and its
delta is plausible, so the one-window result is the reference's.

A sample's interval can start in a slot before its own (it is then the first sample of its slot;
a gap of up to 450 s can span two slot boundaries). Such rows are grouped apart (``x = 1``, one row
per group) and split in proportion to time here, which keeps the per-row SQL free of splitting
arithmetic.

Keys of the result per (device, slot): ``n`` (samples), ``cov`` (covered seconds), ``e_<flow>``
(kWh), ``nc_<flow>``/``ni_<flow>`` (counter/integrated segments), ``gl_<flow>`` (glitches
discarded), ``rb_<flow>`` (rebases), and ``sum_/cnt_/max_/min_<stat>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from aggregation.accounting import NOISE_KWH
from aggregation.buckets import SLOT_S

Row = dict[str, Any]
AGGREGATES = {"sum": "SUM", "cnt": "COUNT", "max": "MAX", "min": "MIN"}


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

    @property
    def counters(self) -> list[str]:
        return sorted({f.counter for f in self.flows if f.counter})

    @property
    def powers(self) -> list[str]:
        return sorted({f.power for f in self.flows})


NEVER = 1e18  # an epoch no sample reaches

@dataclass(frozen=True)
class Device:
    """Per-device limits: plausible power (W) and the longest gap bridged (s).

    ``book_before`` (epoch seconds) books nothing for samples from then on: they are still read,
    as the neighbours that decide how earlier samples are booked (today's live figures leave
    out each device's newest sample, whose own booking waits for its successor).
    """

    device_id: str
    cap_w: float
    max_gap_s: float
    book_before: float = NEVER


def num(expr: str) -> str:
    """``expr`` as a double."""
    return f"CAST({expr} AS DOUBLE PRECISION)"


def epoch_sql() -> str:
    """Seconds since the epoch of the ``ts`` column, in this connection's dialect."""
    if connection.vendor == "postgresql":
        # date_part gives a double directly; EXTRACT gives a numeric, slow to compute and cast.
        return "date_part('epoch', ts)"
    # Whole seconds from unixepoch() (exact, and cheaper than julianday), plus the text's
    # fraction ('.123456' after the seconds, or nothing): a sample on a slot boundary lands on it.
    return "(unixepoch(ts) + CAST(substr(ts, 20) AS REAL))"


def fence() -> str:
    """A clause that keeps a subquery from being merged into the query around it.

    Both planners otherwise substitute a column's expression wherever the column is used, so an
    expression used twenty times (the interval within the gap) would be evaluated twenty times
    per row.
    """
    return "OFFSET 0" if connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"


def _positive_part(a: str, b: str, dt: str) -> str:
    """kWh of the positive part of a ramp a → b (W) over dt seconds, split at the zero crossing.

    NULL when ``dt`` is (no neighbour within the gap): every branch multiplies by it.
    """
    return (f"(CASE WHEN {a} >= 0 AND {b} >= 0 THEN ({a} + {b}) * {dt} / 7200000.0 "
            f"WHEN {a} <= 0 AND {b} <= 0 THEN 0.0 * {dt} "
            f"ELSE ((CASE WHEN {a} > 0 THEN {a} * {a} ELSE 0.0 END) + (CASE WHEN {b} > 0 THEN {b} * {b} "
            f"ELSE 0.0 END)) * {dt} / (2.0 * (ABS({a}) + ABS({b}))) / 3600000.0 END)")


def _signed(alias: str, sign: int) -> str:
    return alias if sign > 0 else f"(-{alias})"


def _limit(devices: list[Device], attr: str, default: float) -> tuple[str, list[Any]]:
    """A device's limit as SQL: a literal when all devices share it (the usual case), else a CASE."""
    values = {float(getattr(d, attr)) for d in devices}
    if len(values) <= 1:
        return repr(values.pop() if values else float(default)), []
    params: list[Any] = []
    for d in devices:
        params += [d.device_id, float(getattr(d, attr))]
    whens = " ".join(["WHEN %s THEN %s"] * len(devices))
    return f"(CASE dev {whens} ELSE {float(default)!r} END)", params


def _base(table: Table, devices: int) -> str:
    """The devices' rows in the range, through the (ts, device) primary key."""
    cols = [f"{table.device} AS dev", "ts", f"{epoch_sql()} AS t"]
    cols += [f"{num(expr)} AS {alias}" for alias, expr in table.columns.items()]
    marks = ", ".join(["%s"] * devices)
    return (f"SELECT {', '.join(cols)} FROM {table.name} WHERE {table.device} IN ({marks}) "
            "AND ts >= %s AND ts < %s")


def _lagged(table: Table) -> list[str]:
    return ["t", *table.counters, *table.powers]


def _rows(table: Table, devices: int) -> str:
    """Stage 1: each row with its predecessor's time, counters and powers (``<name>_1``).

    PostgreSQL: one window over each device's rows, newest first, so the predecessor in
    time is the next row; one LEAD of an array of the values costs less than a LEAD per value.
    SQLite evaluates window functions slowly; there the rows are first copied, numbered in that
    order, into a temporary table (:func:`_numbered`) and each row is joined to its predecessor by
    row number. That holds for a periodic run's few minutes too: a LEAD per value in the query
    itself saves three statements but costs more than they do (CPU time of a quarter hour's
    read of the demo installation, 15 times interleaved: inverters 12.1 ms numbered against
    17.0 ms with LEADs, meter 3.2 / 3.8, packs 3.5 / 4.3).
    """
    lagged = _lagged(table)
    if connection.vendor == "postgresql":
        prev = ", ".join(f"q.prev[{i}] AS {c}_1" for i, c in enumerate(lagged, 1))
        return (f"SELECT q.*, {prev} FROM (SELECT r.*, LEAD(ARRAY[{', '.join(lagged)}]) OVER win AS prev "
                f"FROM ({_base(table, devices)}) r WINDOW win AS (PARTITION BY dev ORDER BY ts DESC)) q")
    prev = ", ".join(f"b.{c} AS {c}_1" for c in lagged)
    numbered = numbered_table(table)
    return f"SELECT r.*, {prev} FROM {numbered} r LEFT JOIN {numbered} b ON b.rn = r.rn + 1 AND b.dev = r.dev"


def numbered_table(table: Table) -> str:
    """SQLite: the connection's temporary table of numbered rows of ``table``."""
    return f"rollup_numbered_{table.name}"


def _numbered(table: Table, devices: int) -> list[str]:
    """SQLite: statements that fill the temporary table of numbered rows (parameters: as the query).

    The table lives as long as the connection and is emptied before each use (a periodic run is
    a few statements; creating and dropping it each time would double them).
    """
    cols = ["dev", "t", *table.columns]
    name = numbered_table(table)
    return [f"CREATE TEMP TABLE IF NOT EXISTS {name} (rn INTEGER PRIMARY KEY, {', '.join(cols)})",
            f"DELETE FROM temp.{name}",
            f"INSERT INTO {name} ({', '.join(cols)}) SELECT {', '.join(cols)} "
            f"FROM ({_base(table, devices)}) ORDER BY dev, ts DESC"]


def _per_row(table: Table, devices: list[Device], default_gap: float, default_cap: float
             ) -> tuple[str, list[Any]]:
    """Stage 2: per row, the interval within the gap, its slot, and what each flow books for it.

    Each energy is evaluated once here (the grouping only sums and counts plain columns): the
    counter delta when there is one, else the trapezoid; NULL when nothing is booked.
    """
    gap, gap_params = _limit(devices, "max_gap_s", default_gap)
    cut, cut_params = _limit(devices, "book_before", NEVER)
    cap, cap_params = _limit(devices, "cap_w", default_cap)
    # The interval since the predecessor, NULL when there is none within the gap: every energy
    # below is then NULL, so nothing is booked across a gap. ``dt`` is also NULL from a device's
    # booking cut on (see Device), while ``dt_all`` and the counter steps ``d_<c>`` still show
    # the bad steps those samples make, so that the samples before them are booked right.
    within = f"t - t_1 <= {gap}"
    inner = [f"CASE WHEN {within} THEN t - t_1 END AS dt_all",
             f"CASE WHEN {within} AND t < {cut} THEN t - t_1 END AS dt", f"FLOOR(t / {SLOT_S}.0) AS s"]
    inner += [f"CASE WHEN {within} THEN {c} - {c}_1 END AS d_{c}" for c in table.counters]
    cols = ["dev", "t", "t_1", "dt", "CAST(s AS INTEGER) AS s",
            f"CASE WHEN t_1 < s * {SLOT_S}.0 AND dt IS NOT NULL THEN 1 ELSE 0 END AS x"]
    # The booked counter steps (k_<c>): those of samples before the cut.
    cols += [f"CASE WHEN dt IS NOT NULL THEN d_{c} END AS k_{c}" for c in table.counters]
    cols += list(table.stats)
    for f in table.flows:
        energy = _positive_part(_signed(f"{f.power}_1", f.sign), _signed(f.power, f.sign), "dt")
        if f.counter:
            energy = f"COALESCE(CASE WHEN dt IS NOT NULL THEN d_{f.counter} END, {energy})"
        cols.append(f"{energy} AS e_{f.name}")
    bad = [f"d_{c} < {-NOISE_KWH!r} OR d_{c} > {cap} / 3600000.0 * dt_all + {table.resolution_kwh!r}"
           for c in table.counters]
    cols.append(f"CASE WHEN {' OR '.join(bad)} THEN t END AS bad" if bad else "NULL AS bad")
    # Placeholders in text order: the cap (once per counter, in the columns), then in the inner
    # query the gap (dt_all), the gap and the cut (dt), and the gap once per counter. When devices
    # differ, each is a CASE with parameters, repeated per use.
    params = (cap_params * len(table.counters) + gap_params + gap_params + cut_params
              + gap_params * len(table.counters))
    sql = f"SELECT {', '.join(cols)} FROM (SELECT w.*, {', '.join(inner)} FROM w {fence()}) i {fence()}"
    return sql, params


def _grouped(table: Table) -> str:
    """Stage 3: sums per (device, slot, x); rows whose interval starts in the previous slot apart."""
    cols = ["dev", "s", "x", "COUNT(*) AS n", "SUM(dt) AS cov", "MIN(t) AS tx",
            "MIN(bad) AS bad_lo", "MAX(bad) AS bad_hi"]
    for f in table.flows:
        # Integrated segments = booked ones - counter ones.
        if f.counter:
            cols.append(f"COUNT(k_{f.counter}) AS nc_{f.name}")
        cols += [f"SUM(e_{f.name}) AS e_{f.name}", f"COUNT(e_{f.name}) AS ne_{f.name}"]
    for alias, aggs in table.stats.items():
        cols += [f"{AGGREGATES[a]}({alias}) AS {a}_{alias}" for a in aggs]
    return f"SELECT {', '.join(cols)} FROM p GROUP BY dev, s, x"


def slot_query(table: Table, devices: list[Device], *, default_gap: float, default_cap: float
               ) -> tuple[str, list[Any]]:
    """The whole query; its parameters are completed by :func:`run` with (device ids, start, end)."""
    key = (table.name, tuple(devices), default_gap, default_cap, connection.vendor)
    held = _QUERIES.get(key)
    if held is not None and held[0] is table:
        return held[1], list(held[2])
    per_row, params = _per_row(table, devices, default_gap, default_cap)
    sql = f"WITH w AS ({_rows(table, len(devices))}), p AS ({per_row}) {_grouped(table)}"
    if len(_QUERIES) >= 64:  # limits that change with the time (today's booking cut): no growth
        _QUERIES.clear()
    _QUERIES[key] = (table, sql, tuple(params))
    return sql, params


# Built queries per (table, devices and their limits, vendor): a periodic run sends the
# same three every quarter hour, and building one costs more than SQLite takes to run it.
_QUERIES: dict[tuple[Any, ...], tuple[Table, str, tuple[Any, ...]]] = {}


@contextmanager
def tuned() -> Iterator[None]:
    """A transaction with planner settings for one big analytic query.

    PostgreSQL's JIT costs more to compile this query (about a second) than it saves; the rows of
    a range come through the (ts, device) key and are sorted per device in memory.
    """
    if connection.vendor != "postgresql":
        yield  # nothing to set: no transaction of its own either
        return
    if connection.in_atomic_block:
        # Inside a rollup's transaction already: the settings hold to its end; one statement, no
        # savepoint (a periodic run sends three of these queries every quarter hour).
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)")
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def run(table: Table, devices: list[Device], start: datetime, end: datetime, *,
        default_gap: float, default_cap: float) -> dict[tuple[str, int], Row]:
    """Per (device, slot) aggregates of the given devices' samples in [start, end) of ``table``."""
    from aggregation import repair

    if not devices:
        return {}
    sql, params = slot_query(table, devices, default_gap=default_gap, default_cap=default_cap)
    adapt = connection.ops.adapt_datetimefield_value
    rows = [*(d.device_id for d in devices), adapt(start), adapt(end)]
    with tuned(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql, [*rows, *params])
        else:
            for statement in _numbered(table, len(devices)):
                cursor.execute(statement, rows if statement.startswith("INSERT") else [])
            cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        groups = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    slots = assemble(table, groups)
    repair.bad_steps(table, devices, groups, slots, default_gap=default_gap, default_cap=default_cap)
    return slots


def _empty(table: Table) -> Row:
    row: Row = {"n": 0, "cov": 0.0}
    for f in table.flows:
        row.update({f"e_{f.name}": 0.0, f"nc_{f.name}": 0, f"ni_{f.name}": 0, f"gl_{f.name}": 0,
                    f"rb_{f.name}": 0})
    return row


def assemble(table: Table, groups: list[Row]) -> dict[tuple[str, int], Row]:
    """Per (device, slot) aggregates from the grouped rows, splitting each slot's first interval
    over the slots it spans (its own and the one or two before) in proportion to time."""
    out: dict[tuple[str, int], Row] = {}

    def slot(dev: str, s: int) -> Row:
        return out.setdefault((dev, s), _empty(table))

    for g in groups:
        dev, s = g["dev"], int(g["s"])
        own = slot(dev, s)
        own["n"] += g["n"]
        _merge_stats(table, own, g)
        if not g["x"]:
            _add(table, own, g, 1.0, counted=True)
            own["cov"] += g["cov"] or 0.0
            continue
        # One row whose interval (tp, t] starts before the slot: each slot it overlaps gets its
        # share of the energy and of the covered time.
        t = g["tx"]
        tp = t - g["cov"]
        first = int(tp // SLOT_S)
        for k in range(first, s + 1):
            lo, hi = max(tp, k * SLOT_S), min(t, (k + 1) * SLOT_S)
            if hi <= lo and k != s:
                continue
            into = own if k == s else slot(dev, k)
            _add(table, into, g, (hi - lo) / (t - tp), counted=k != s or t > s * SLOT_S)
            into["cov"] += max(hi - lo, 0.0)
    return out


def _merge_stats(table: Table, into: Row, g: Row) -> None:
    for alias, aggs in table.stats.items():
        for a in aggs:
            key, value = f"{a}_{alias}", g[f"{a}_{alias}"]
            have = into.get(key)
            if value is None or have is None:
                into[key] = have if value is None else value
            elif a == "max":
                into[key] = max(have, value)
            elif a == "min":
                into[key] = min(have, value)
            else:
                into[key] = have + value


def _add(table: Table, into: Row, g: Row, share: float, *, counted: bool) -> None:
    for f in table.flows:
        into[f"e_{f.name}"] += (g[f"e_{f.name}"] or 0.0) * share
        if counted:
            counter = g.get(f"nc_{f.name}") or 0
            into[f"nc_{f.name}"] += counter
            into[f"ni_{f.name}"] += (g[f"ne_{f.name}"] or 0) - counter
