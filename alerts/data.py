"""The data one poll wrote, for the rules that need it (each part at most once).

The ``samples_written`` signal carries the rows the poll wrote (``rows``, column values), so a
poll's rules read nothing back. Without them (a caller that has only the device and the sample
time), the rows are found by their primary key (``ts``, device) and by the (device, ``ts``)
indexes the sample tables already have, in plain SQL: building an ORM query costs several times
more than running it (bench/alerts.py).
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any

from django.db import connection

from telemetry import models as t
from telemetry.choices import DeviceKind
from telemetry.ingest import RowSet

_HEAD = {DeviceKind.INVERTER: (t.EnergySample, "inverter_id"), DeviceKind.METER: (t.MeterSample, "meter_id"),
         DeviceKind.BATTERY_PACK: (t.BatteryBankSample, "pack_id")}
_UNITS = t.BatteryUnitSample._meta.db_table
_CELLS = t.BatteryCellSample._meta.db_table


def _rows(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class DeviceData:
    """One poll of one device: its head row, and for a pack its units and cells, loaded lazily."""

    def __init__(self, device_type: str, device_id: str, system_id: str, ts: datetime,
                 detail_ts: datetime | None = None, rows: RowSet | None = None) -> None:
        self.device_type = device_type
        self.device_id = device_id
        self.system_id = system_id
        self.ts = ts
        self.detail_ts = detail_ts or ts  # unit and cell rows sit at the start of their detail interval
        # The poll's own rows by table, when given: a cell row of the detail interval holds the
        # latest reading, which is this poll's.
        self._given = {model: batch for model, batch in rows.tables} if rows is not None else None

    @property
    def _detail_at(self) -> Any:
        return connection.ops.adapt_datetimefield_value(self.detail_ts)

    @cached_property
    def head(self) -> dict[str, Any] | None:
        """The inverter, meter or pack row of this poll (columns by name)."""
        model, column = _HEAD[DeviceKind(self.device_type)]
        if self._given is not None:
            return next(iter(self._given.get(model, [])), None)
        found = _rows(f"SELECT * FROM {model._meta.db_table} WHERE ts = %s AND {column} = %s",
                      [connection.ops.adapt_datetimefield_value(self.ts), self.device_id])
        return found[0] if found else None

    @cached_property
    def units(self) -> list[dict[str, Any]]:
        """The pack's battery-unit rows of this poll (empty for other devices)."""
        if self.device_type != DeviceKind.BATTERY_PACK:
            return []
        if self._given is not None:
            return self._given.get(t.BatteryUnitSample, [])
        return _rows(f"SELECT battery_id, voltage, current, temperature FROM {_UNITS} "
                     "WHERE pack_id = %s AND ts = %s", [self.device_id, self._detail_at])

    @cached_property
    def cells(self) -> list[dict[str, Any]]:
        """The pack's cell rows of this poll (empty for other devices); ``cell_ref_id`` is the cell id."""
        if self.device_type != DeviceKind.BATTERY_PACK:
            return []
        if self._given is not None:
            return self._given.get(t.BatteryCellSample, [])
        return _rows(f"SELECT cell_id AS cell_ref_id, voltage, temperature FROM {_CELLS} "
                     "WHERE pack_id = %s AND ts = %s", [self.device_id, self._detail_at])
