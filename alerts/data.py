"""The data one poll wrote, read back for the rules that need it (each part at most once).

The ``samples_written`` signal names the device and the sample time; the rows are found by
their primary key (``ts``, device) and by the (device, ``ts``) indexes the sample tables
already have, so a poll costs one indexed query per part a rule asks for.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any

from telemetry import models as t
from telemetry.choices import DeviceKind

_HEAD = {DeviceKind.INVERTER: (t.EnergySample, "inverter_id"), DeviceKind.METER: (t.MeterSample, "meter_id"),
         DeviceKind.BATTERY_PACK: (t.BatteryBankSample, "pack_id")}


class DeviceData:
    """One poll of one device: its head row, and for a pack its units and cells, loaded lazily."""

    def __init__(self, device_type: str, device_id: str, system_id: str, ts: datetime) -> None:
        self.device_type = device_type
        self.device_id = device_id
        self.system_id = system_id
        self.ts = ts

    @cached_property
    def head(self) -> dict[str, Any] | None:
        """The inverter, meter or pack row of this poll."""
        model, column = _HEAD[DeviceKind(self.device_type)]
        rows = model._default_manager.filter(ts=self.ts, **{column: self.device_id})
        row = rows.values().first()
        return None if row is None else dict(row)

    @cached_property
    def units(self) -> list[dict[str, Any]]:
        """The pack's battery-unit rows of this poll (empty for other devices)."""
        if self.device_type != DeviceKind.BATTERY_PACK:
            return []
        return [dict(row) for row in t.BatteryUnitSample.objects.filter(
            pack_id=self.device_id, ts=self.ts).values("battery_id", "voltage", "current", "temperature")]

    @cached_property
    def cells(self) -> list[dict[str, Any]]:
        """The pack's cell rows of this poll (empty for other devices)."""
        if self.device_type != DeviceKind.BATTERY_PACK:
            return []
        return [dict(row) for row in t.BatteryCellSample.objects.filter(
            pack_id=self.device_id, ts=self.ts).values("cell_ref_id", "voltage", "temperature")]
