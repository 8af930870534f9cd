"""A system's hierarchy in one typed tree: arrays with their inverters and meters, battery arrays
with their packs, batteries and cells, and which battery array backs which inverter array now.

``load_system_tree`` reads it in a fixed number of queries (one per table), whatever the
system's size. ``system_tree`` keeps a copy per process and hands it out again while one query
on the catalog tables' counts and last changes says the catalog is unchanged, so a catalog write
in any process (admin, API, YAML) is seen at the next call. The poll path takes one tree per
``poll_bus`` task and passes it down, so a device's poll reads no catalog rows at all.

The "grid counted once" rule lives here too (:meth:`SystemTree.grid_meters`): a grid connection
with its own meter takes its figure from that meter, else from the sum of what is below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from catalog import models as m
from catalog.choices import DeviceType


@dataclass(frozen=True, slots=True)
class InverterNode:
    inverter_id: str
    name: str
    array_id: str
    adapter_id: str | None
    rated_power_w: float | None


@dataclass(frozen=True, slots=True)
class MeterNode:
    meter_id: str
    name: str
    array_id: str | None  # None: a system-level meter
    type: str | None
    adapter_id: str | None


@dataclass(frozen=True, slots=True)
class BatteryNode:
    battery_id: str
    battery_index: int  # from 0
    cells: dict[int, str]  # cell index (from 0) → cell id


@dataclass(frozen=True, slots=True)
class PackNode:
    pack_id: str
    name: str
    battery_array_id: str
    nominal_kwh: float | None
    batteries: tuple[BatteryNode, ...]

    def battery(self, index: int) -> BatteryNode | None:
        """The battery unit at ``index`` (from 0), if the catalog has it."""
        return next((b for b in self.batteries if b.battery_index == index), None)


@dataclass(frozen=True, slots=True)
class ArrayNode:
    array_id: str
    name: str
    inverters: tuple[InverterNode, ...]
    meters: tuple[MeterNode, ...]
    battery_array_id: str | None  # attached now


@dataclass(frozen=True, slots=True)
class BatteryArrayNode:
    battery_array_id: str
    name: str
    packs: tuple[PackNode, ...]
    inverter_array_id: str | None  # attached now


@dataclass(frozen=True)
class SystemTree:
    system_id: str
    name: str
    timezone: str
    arrays: tuple[ArrayNode, ...]
    battery_arrays: tuple[BatteryArrayNode, ...]
    system_meters: tuple[MeterNode, ...]
    _index: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for array in self.arrays:
            self._index["array", array.array_id] = array
            for inverter in array.inverters:
                self._index["inverter", inverter.inverter_id] = inverter
            for meter in array.meters:
                self._index["meter", meter.meter_id] = meter
        for meter in self.system_meters:
            self._index["meter", meter.meter_id] = meter
        for battery_array in self.battery_arrays:
            for pack in battery_array.packs:
                self._index["battery_pack", pack.pack_id] = pack

    def inverter(self, inverter_id: str) -> InverterNode | None:
        return self._index.get(("inverter", inverter_id))

    def meter(self, meter_id: str) -> MeterNode | None:
        return self._index.get(("meter", meter_id))

    def pack(self, pack_id: str) -> PackNode | None:
        return self._index.get(("battery_pack", pack_id))

    @property
    def inverters(self) -> list[InverterNode]:
        return [inverter for array in self.arrays for inverter in array.inverters]

    @property
    def packs(self) -> list[PackNode]:
        return [pack for battery_array in self.battery_arrays for pack in battery_array.packs]

    def packs_of(self, array_id: str | None) -> list[PackNode]:
        """The packs backing an inverter array now (through its attached battery array); all for None."""
        if array_id is None:
            return self.packs
        array = self._index.get(("array", array_id))
        attached = array.battery_array_id if array is not None else None
        return [pack for pack in self.packs if attached is not None and pack.battery_array_id == attached]

    def grid_meters(self, array_id: str | None) -> list[str]:
        """The meters that measure a grid connection: an array's own (``array_id``), or the system's
        (None). Empty: that connection's grid figure is the sum of what is below it (inverters,
        or arrays), never both, so grid flow is counted once."""
        if array_id is None:
            return [meter.meter_id for meter in self.system_meters]
        array = self._index.get(("array", array_id))
        return [meter.meter_id for meter in array.meters] if array is not None else []

    @property
    def meters(self) -> list[MeterNode]:
        """Every meter: the system's, then each array's."""
        return [*self.system_meters, *(meter for array in self.arrays for meter in array.meters)]

    def device_keys(self) -> list[tuple[str, str]]:
        """Every polled device, as (device_type, device_id) the way statuses and samples name them."""
        return ([(str(DeviceType.INVERTER), inverter.inverter_id) for inverter in self.inverters]
                + [(str(DeviceType.BATTERY_PACK), pack.pack_id) for pack in self.packs]
                + [(str(DeviceType.METER), meter.meter_id) for meter in self.meters])

    @staticmethod
    def capacity_kwh(packs: list[PackNode]) -> float | None:
        total = sum(pack.nominal_kwh or 0.0 for pack in packs)
        return total or None


def load_system_tree(system_id: str) -> SystemTree | None:
    """The system's tree read from the catalog now (eight queries); None for no such system."""
    system = m.System.objects.filter(pk=system_id).values_list("name", "timezone").first()
    if system is None:
        return None
    cells: dict[str, dict[int, str]] = {}
    for cell_id, battery_id, index in m.BatteryCell.objects.filter(system_id=system_id).values_list(
            "cell_id", "battery_id", "cell_index").order_by("battery_id", "cell_index"):
        cells.setdefault(battery_id, {})[index] = cell_id
    batteries: dict[str, list[BatteryNode]] = {}
    for battery_id, pack_id, index in m.Battery.objects.filter(system_id=system_id).values_list(
            "battery_id", "pack_id", "battery_index").order_by("pack_id", "battery_index"):
        batteries.setdefault(pack_id, []).append(BatteryNode(battery_id, index, cells.get(battery_id, {})))
    packs: dict[str, list[PackNode]] = {}
    for pack_id, name, battery_array_id, nominal in m.BatteryPack.objects.filter(
            system_id=system_id).values_list("pk", "name", "battery_array_id", "nominal_kwh").order_by("pk"):
        packs.setdefault(battery_array_id, []).append(
            PackNode(pack_id, name, battery_array_id, nominal, tuple(batteries.get(pack_id, []))))
    attached = dict(m.BatteryArrayAttachment.objects.filter(
        inverter_array__system_id=system_id, detached_at__isnull=True).values_list(
        "inverter_array_id", "battery_array_id"))
    backs = {battery_array: array for array, battery_array in attached.items()}
    inverters: dict[str, list[InverterNode]] = {}
    for row in m.Inverter.objects.filter(system_id=system_id).values_list(
            "pk", "name", "array_id", "adapter_id", "rated_power_w").order_by("pk"):
        inverters.setdefault(row[2], []).append(InverterNode(*row))
    meters = [MeterNode(*row) for row in m.Meter.objects.filter(system_id=system_id).values_list(
        "pk", "name", "array_id", "type", "adapter_id").order_by("pk")]
    arrays = tuple(
        ArrayNode(array_id, name, tuple(inverters.get(array_id, [])),
                  tuple(mt for mt in meters if mt.array_id == array_id), attached.get(array_id))
        for array_id, name in m.InverterArray.objects.filter(system_id=system_id).values_list(
            "pk", "name").order_by("pk"))
    battery_arrays = tuple(
        BatteryArrayNode(ba_id, name, tuple(packs.get(ba_id, [])), backs.get(ba_id))
        for ba_id, name in m.BatteryArray.objects.filter(system_id=system_id).values_list(
            "pk", "name").order_by("pk"))
    return SystemTree(system_id, system[0], system[1], arrays, battery_arrays,
                      tuple(mt for mt in meters if mt.array_id is None))


Part = tuple[str, bool, list[str]]
_CACHE: dict[str, tuple[tuple[Any, ...], SystemTree | None]] = {}
# What a tree is read from: per table, whether it is filtered to the system, and the aggregates
# that change when its rows do (rows without ``updated_at`` are never edited in place but
# replaced, so their count and newest id tell).
TREE_PARTS: list[Part] = [
    ("systems", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("arrays", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("battery_arrays", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("inverters", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("meters", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("battery_packs", True, ["COUNT(*)", "MAX(updated_at)", "SUM(nominal_kwh)"]),
    ("batteries", True, ["COUNT(*)", "MAX(battery_id)", "SUM(battery_index)"]),
    ("battery_cells", True, ["COUNT(*)", "MAX(cell_id)", "SUM(cell_index)"]),
    ("battery_array_attachments", False, ["COUNT(*)", "MAX(id)", "COUNT(detached_at)",
                                          "MAX(attached_since)"]),
]
def fingerprint(system_id: str, parts: list[Part]) -> tuple[Any, ...]:
    """Counts and last changes of the tables ``parts`` name (table, filtered to the system or
    not, aggregates that change when its rows do), in one query: equal while nothing changed."""
    width = max(len(columns) for _, _, columns in parts)
    selects, params = [], []
    for part, (table, own, columns) in enumerate(parts):
        cells = [f"CAST({c} AS TEXT)" for c in columns] + ["CAST(NULL AS TEXT)"] * (width - len(columns))
        selects.append(f"SELECT {part} AS part, {', '.join(cells)} FROM {table}"
                       + (" WHERE system_id = %s" if own else ""))
        params += [system_id] if own else []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects) + " ORDER BY part", params)
        return tuple(value for row in cursor.fetchall() for value in row)


def system_tree(system_id: str) -> SystemTree | None:
    """The system's tree, read again only when its catalog has changed (one query when it has not)."""
    mark = fingerprint(system_id, TREE_PARTS)
    held = _CACHE.get(system_id)
    if held is not None and held[0] == mark:
        return held[1]
    tree = load_system_tree(system_id)
    _CACHE[system_id] = (mark, tree)
    return tree


def forget_system_trees() -> None:
    """Drop every cached tree (tests that rewrite the catalog behind the cache's back)."""
    _CACHE.clear()
