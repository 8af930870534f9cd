"""The data one poll wrote, for the rules that need it (each part at most once).

The ``samples_written`` signal carries the rows the poll wrote (``rows``, column values), so a
poll's rules read nothing back. Without them (a caller that has only the device and the sample
time), the rows are found by their primary key (``ts``, device) and by the (device, ``ts``)
indexes the sample tables already have, in plain SQL: building an ORM query costs several times
more than running it (bench/alerts.py).

Several rules look at the same extremes (the lowest and highest cell voltage, the coldest and
hottest temperature), so those are computed once per poll, as bare numbers; where each extreme
was read (which cell) is looked up only when an alert changes state and its values are stored.
Those extremes are taken by ``min``/``max`` over the column's values in C, and a missing value
(None) costs a second pass only when there is one: a pack's 32 cells are read at every poll.

:class:`Screen` tells from a poll's rows alone that none of a device's rules can find its
condition (the kinds' ``quiet_when`` limits, merged per measure), so a healthy poll runs no
check and builds nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from operator import itemgetter
from typing import Any

from django.db import connection

from alerts.kinds.base import CELL_SPREAD_MV, CELL_VOLTAGES, TEMPERATURES, Limit
from telemetry import models as t
from telemetry.choices import DeviceKind
from telemetry.ingest import RowSet

_HEAD: dict[str, tuple[type[Any], str]] = {
    DeviceKind.INVERTER.value: (t.EnergySample, "inverter_id"),
    DeviceKind.METER.value: (t.MeterSample, "meter_id"),
    DeviceKind.BATTERY_PACK.value: (t.BatteryBankSample, "pack_id")}
_UNITS = t.BatteryUnitSample._meta.db_table
_CELLS = t.BatteryCellSample._meta.db_table
_PACK = DeviceKind.BATTERY_PACK.value
_VOLTAGE = itemgetter("voltage")
_TEMPERATURE = itemgetter("temperature")
_NONE = (0, math.nan, math.nan)


def _rows(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def value_range(values: list[Any]) -> tuple[int, float, float]:
    """How many of the values are there (not None), the lowest and the highest (0, nan, nan
    without any)."""
    try:
        low, high = min(values), max(values)
    except ValueError:  # no values
        return _NONE
    except TypeError:  # a missing value among them: None does not compare
        values = [v for v in values if v is not None]
        return (len(values), min(values), max(values)) if values else _NONE
    return _NONE if low is None else (len(values), low, high)  # [None] compares nothing


def cell_range(cells: list[dict[str, Any]]) -> tuple[int, float, float]:
    """:func:`value_range` of the cells' voltages."""
    return value_range(list(map(_VOLTAGE, cells)))


def temperature_range(head: dict[str, Any] | None, units: list[dict[str, Any]], cells: list[dict[str, Any]]
                      ) -> tuple[float, float] | None:
    """The coldest and hottest of every temperature a poll read: the pack's, each unit's and
    each cell's (None without any)."""
    temps = list(map(_TEMPERATURE, cells))
    temps += map(_TEMPERATURE, units)
    if head is not None:
        temps.append(head.get("temperature"))
    count, low, high = value_range(temps)
    return (low, high) if count else None


def spread_mv(low_v: float, high_v: float) -> float:
    """Highest minus lowest cell voltage, in mV to a tenth (what the spread rule compares)."""
    return round((high_v - low_v) * 1000, 1)


def _parts(tables: list[tuple[type[Any], list[dict[str, Any]]]], head_model: type[Any]
           ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """The head row, the unit rows and the cell rows among a poll's tables (one of each model)."""
    found = dict(tables)
    head = found.get(head_model)
    return (head[0] if head else None), found.get(t.BatteryUnitSample, []), found.get(t.BatteryCellSample, [])


_UNSET: Any = object()


class DeviceData:
    """One poll of one device: its head row, and for a pack its units and cells, loaded lazily.

    Read after every poll, so plain attributes filled on first use (``functools.cached_property``
    takes a lock at each access, which costs more than the comparisons it serves).
    """

    __slots__ = ("_cell_volts", "_cells", "_given", "_head", "_temperatures", "_units", "detail_ts",
                 "device_id", "device_type", "system_id", "ts")

    def __init__(self, device_type: str, device_id: str, system_id: str, ts: datetime,
                 detail_ts: datetime | None = None, rows: RowSet | None = None) -> None:
        self.device_type = device_type
        self.device_id = device_id
        self.system_id = system_id
        self.ts = ts
        self.detail_ts = detail_ts or ts  # unit and cell rows sit at the start of their detail interval
        # The poll's own rows by table, when given: a cell row of the detail interval holds the
        # latest reading, which is this poll's.
        self._given = rows.tables if rows is not None else None
        self._head = self._units = self._cells = self._cell_volts = self._temperatures = _UNSET

    def _table(self, model: type[Any]) -> list[dict[str, Any]]:
        for table, batch in self._given or ():
            if table is model:
                return batch
        return []

    @property
    def _detail_at(self) -> Any:
        return connection.ops.adapt_datetimefield_value(self.detail_ts)

    @property
    def head(self) -> dict[str, Any] | None:
        """The inverter, meter or pack row of this poll (columns by name)."""
        if self._head is _UNSET:
            model, column = _HEAD[self.device_type]
            if self._given is not None:
                given = self._table(model)
                self._head = given[0] if given else None
            else:
                found = _rows(f"SELECT * FROM {model._meta.db_table} WHERE ts = %s AND {column} = %s",
                              [connection.ops.adapt_datetimefield_value(self.ts), self.device_id])
                self._head = found[0] if found else None
        return self._head  # type: ignore[no-any-return]

    @property
    def units(self) -> list[dict[str, Any]]:
        """The pack's battery-unit rows of this poll (empty for other devices)."""
        if self._units is _UNSET:
            if self.device_type != _PACK:
                self._units = []
            elif self._given is not None:
                self._units = self._table(t.BatteryUnitSample)
            else:
                self._units = _rows(f"SELECT battery_id, voltage, current, temperature FROM {_UNITS} "
                                    "WHERE pack_id = %s AND ts = %s", [self.device_id, self._detail_at])
        return self._units  # type: ignore[no-any-return]

    @property
    def cells(self) -> list[dict[str, Any]]:
        """The pack's cell rows of this poll (empty for other devices); ``cell_ref_id`` is the cell id."""
        if self._cells is _UNSET:
            if self.device_type != _PACK:
                self._cells = []
            elif self._given is not None:
                self._cells = self._table(t.BatteryCellSample)
            else:
                self._cells = _rows(f"SELECT cell_id AS cell_ref_id, voltage, temperature FROM {_CELLS} "
                                    "WHERE pack_id = %s AND ts = %s", [self.device_id, self._detail_at])
        return self._cells  # type: ignore[no-any-return]

    @property
    def cell_volts(self) -> tuple[int, float, float]:
        """How many cells gave a voltage, the lowest and the highest (0, nan, nan without any)."""
        if self._cell_volts is _UNSET:
            self._cell_volts = cell_range(self.cells)
        return self._cell_volts  # type: ignore[no-any-return]

    @property
    def temperature_range(self) -> tuple[float, float] | None:
        """The coldest and hottest of every temperature the poll read (:func:`temperature_range`)."""
        if self._temperatures is _UNSET:
            self._temperatures = temperature_range(self.head, self.units, self.cells)
        return self._temperatures  # type: ignore[no-any-return]

    def cell_extremes(self) -> dict[str, Any]:
        """The lowest and highest cell voltage and which cells read them (for an alert's values)."""
        volts = [(c["voltage"], c["cell_ref_id"]) for c in self.cells if c["voltage"] is not None]
        (low_v, low_at), (high_v, high_at) = min(volts), max(volts)
        return {"min_v": low_v, "min_cell": low_at, "max_v": high_v, "max_cell": high_at}

    def temperature_extremes(self) -> dict[str, Any]:
        """The coldest and hottest temperature and where each was read (for an alert's values)."""
        found: list[tuple[float, str]] = []
        head = self.head or {}
        if head.get("temperature") is not None:
            found.append((head["temperature"], self.device_id))
        found += [(u["temperature"], u["battery_id"]) for u in self.units if u["temperature"] is not None]
        found += [(c["temperature"], c["cell_ref_id"]) for c in self.cells if c["temperature"] is not None]
        (low_c, low_at), (high_c, high_at) = min(found), max(found)
        return {"min_c": low_c, "min_at": low_at, "max_c": high_c, "max_at": high_at}


class Screen:
    """The limits a device's poll must stay within for none of its rules to find its condition
    (their kinds' ``quiet_when``), merged per measure: the tightest bound of each side.

    Read from the rows the poll wrote, before any check runs: a head column is one ``get``, the
    cell voltages and the temperatures one pass each (the checks would make the same passes,
    each behind its own calls). Only a poll outside a limit goes on to the checks, which decide;
    a value the poll does not have (None) is within. The comparisons are the checks' own
    (``value < low``, ``value > high``) negated, so a nan is within here exactly when no check
    would find it beyond a limit.
    """

    __slots__ = ("_cells", "_columns", "_details", "_either", "_head_model", "_spread", "_temperatures",
                 "_temps", "_volts")

    def __init__(self, device_type: str, groups: Iterable[tuple[Limit, ...]]) -> None:
        self._head_model = _HEAD[device_type][0]
        merged: dict[str, tuple[float, float]] = {}
        either: list[tuple[Bound, ...]] = []
        for group in groups:
            if len(group) != 1:
                either.append(tuple(_bound(limit) for limit in group))
                continue
            measure, low, high = _bound(group[0])
            was_low, was_high = merged.get(measure, (-math.inf, math.inf))
            merged[measure] = (max(low, was_low), min(high, was_high))
        self._cells = merged.pop(CELL_VOLTAGES, None)
        self._spread = merged.pop(CELL_SPREAD_MV, None)
        self._temperatures = merged.pop(TEMPERATURES, None)
        self._columns = tuple((column, low, high) for column, (low, high) in merged.items())
        self._either = tuple(either)
        alternatives = {measure for group in either for measure, _, _ in group}
        # Which passes over the cells a poll needs (computed once, for the merged limits and the
        # alternatives alike).
        self._volts = bool(self._cells or self._spread or alternatives & {CELL_VOLTAGES, CELL_SPREAD_MV})
        self._temps = bool(self._temperatures or TEMPERATURES in alternatives)
        self._details = self._volts or self._temps

    def passes(self, rows: RowSet) -> bool:
        """Whether the poll's rows are within every limit."""
        tables = rows.tables
        if self._details or not tables or tables[0][0] is not self._head_model:
            head, units, cells = _parts(tables, self._head_model)
        else:  # the head table comes first, and nothing else is needed
            first = tables[0][1]
            head, units, cells = (first[0] if first else None), [], []
        if head is not None:
            for column, low, high in self._columns:
                value = head.get(column)
                if value is not None and (value < low or value > high):
                    return False
        if not self._details:
            return not self._either or self._alternatives_hold(head, None, None, None)
        volts = spread = temps = None
        if self._volts:
            count, low_v, high_v = cell_range(cells)
            if count:
                volts, spread = (low_v, high_v), spread_mv(low_v, high_v)
                bounds = self._cells
                if bounds is not None and (low_v < bounds[0] or high_v > bounds[1]):
                    return False
                bounds = self._spread
                if bounds is not None and (spread < bounds[0] or spread > bounds[1]):
                    return False
        if self._temps:
            temps = temperature_range(head, units, cells)
            bounds = self._temperatures
            if temps is not None and bounds is not None and (temps[0] < bounds[0] or temps[1] > bounds[1]):
                return False
        return not self._either or self._alternatives_hold(head, volts, spread, temps)

    def _alternatives_hold(self, head: dict[str, Any] | None, volts: tuple[float, float] | None,
                           spread: float | None, temps: tuple[float, float] | None) -> bool:
        """Whether one limit of each group of alternatives holds, on the measures already taken."""
        for group in self._either:
            for measure, low, high in group:
                if measure == CELL_VOLTAGES:
                    found = volts
                elif measure == CELL_SPREAD_MV:
                    found = None if spread is None else (spread, spread)
                elif measure == TEMPERATURES:
                    found = temps
                else:
                    value = None if head is None else head.get(measure)
                    found = None if value is None else (value, value)
                if found is None or not (found[0] < low or found[1] > high):
                    break  # this alternative holds
            else:
                return False
        return True


Bound = tuple[str, float, float]


def _bound(limit: Limit) -> Bound:
    """A limit with its open sides as infinities."""
    low = -math.inf if limit.low is None else limit.low
    return limit.measure, low, math.inf if limit.high is None else limit.high
