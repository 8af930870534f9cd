"""The data one poll wrote, for the rules that need it (each part at most once).

The ``samples_written`` signal carries the rows the poll wrote (``rows``, column values), so a
poll's rules read nothing back. Without them (a caller that has only the device and the sample
time), the rows are found by their primary key (``ts``, device) and by the (device, ``ts``)
indexes the sample tables already have, in plain SQL: building an ORM query costs several times
more than running it (bench/alerts.py).

Several rules look at the same extremes (the lowest and highest cell voltage, the coldest and
hottest temperature), so those are computed once per poll, as bare numbers; where each extreme
was read (which cell) is looked up only when an alert changes state and its values are stored.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.db import connection

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


def _rows(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _present(rows: list[dict[str, Any]], column: str) -> list[Any]:
    """The column's values over the rows, without the missing ones."""
    values = [row[column] for row in rows]
    return [v for v in values if v is not None] if None in values else values


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
            volts = _present(self.cells, "voltage")
            self._cell_volts = (len(volts), min(volts), max(volts)) if volts else (0, math.nan, math.nan)
        return self._cell_volts  # type: ignore[no-any-return]

    @property
    def temperature_range(self) -> tuple[float, float] | None:
        """The coldest and hottest of every temperature the poll read: the pack's, each unit's and
        each cell's (None without any)."""
        if self._temperatures is _UNSET:
            temps = _present(self.cells, "temperature") + _present(self.units, "temperature")
            head = self.head
            if head is not None and (v := head.get("temperature")) is not None:
                temps.append(v)
            self._temperatures = (min(temps), max(temps)) if temps else None
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
