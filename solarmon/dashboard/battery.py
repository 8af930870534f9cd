"""The battery page's rows: packs → battery units → cells, with the newest readings and the imbalance.

A pack whose status is offline shows no numbers; a stale one shows its last values, marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalog import models as catalog
from telemetry import models as t
from telemetry.choices import DeviceKind
from telemetry.selectors import latest_pack_detail, status_dict

# A spread of cell voltages above these is worth a look, then worth acting on (LFP cells sit
# within a few tens of millivolts of each other when balanced).
DELTA_WARN_V = 0.05
DELTA_ALARM_V = 0.10


@dataclass
class CellSpread:
    """Lowest and highest cell voltage (with their places) and the difference."""

    min_v: float
    max_v: float
    min_at: str
    max_at: str

    @property
    def delta_v(self) -> float:
        return round(self.max_v - self.min_v, 3)

    @property
    def level(self) -> str:
        """ok, warn or alarm: how the imbalance is highlighted."""
        if self.delta_v >= DELTA_ALARM_V:
            return "alarm"
        return "warn" if self.delta_v >= DELTA_WARN_V else "ok"


@dataclass
class UnitView:
    """A battery unit with its newest values and cells."""

    battery: catalog.Battery
    sample: dict[str, Any] | None
    cells: list[dict[str, Any]] = field(default_factory=list)
    spread: CellSpread | None = None


@dataclass
class PackView:
    """A pack with its status, newest pack values, units and the pack-wide cell spread."""

    pack: catalog.BatteryPack
    status: dict[str, Any]
    sample: dict[str, Any] | None
    units: list[UnitView]
    spread: CellSpread | None

    @property
    def show_values(self) -> bool:
        """Offline packs show no numbers, so an old value is never read as current."""
        return self.sample is not None and self.status["state"] != "offline"


def spread_of(cells: list[tuple[str, float | None]]) -> CellSpread | None:
    """The spread of ``(place, voltage)`` pairs, ignoring cells without a voltage."""
    known = [(place, v) for place, v in cells if v is not None]
    if not known:
        return None
    low = min(known, key=lambda c: c[1])
    high = max(known, key=lambda c: c[1])
    return CellSpread(low[1], high[1], low[0], high[0])


def _unit_views(pack: catalog.BatteryPack, detail: dict[str, Any] | None) -> list[UnitView]:
    samples = {u["battery_id"]: u for u in (detail or {}).get("units", [])}
    views = []
    for battery in pack.batteries.order_by("battery_index"):
        sample = samples.get(battery.pk)
        cells = sorted(sample["cells"], key=lambda c: c["cell"]) if sample else []
        spread = spread_of([(f"cell {c['cell']}", c["voltage"]) for c in cells])
        views.append(UnitView(battery, sample, cells, spread))
    return views


def pack_views(system: catalog.System, now: datetime) -> list[PackView]:
    """Every pack of the system, in id order."""
    statuses = {s.device_id: s for s in t.DeviceStatus.objects.filter(
        system=system, device_type=DeviceKind.BATTERY_PACK)}
    views = []
    for pack in catalog.BatteryPack.objects.filter(system=system).order_by("pk"):
        detail = latest_pack_detail(pack.pk)
        units = _unit_views(pack, detail)
        places = [(f"unit {u.battery.battery_index} cell {c['cell']}", c["voltage"])
                  for u in units for c in u.cells]
        views.append(PackView(pack, status_dict(statuses.get(pack.pk), now), detail, units,
                              spread_of(places)))
    return views
