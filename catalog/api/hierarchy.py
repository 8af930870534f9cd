"""``GET /api/systems/{system_id}/hierarchy/``: a system's whole tree with live device state.

The tree is read in one query per table (arrays, inverters, battery arrays, packs, pack
adapter links, batteries, cells when asked, meters, attachments), whatever the system's
size, and assembled in memory. Device status and latest values come from a *device state
source*, a function ``(system_id) -> {(device_type, device_id): {"status": ..., "latest": ...}}``
that the URL configuration passes in (telemetry's ``latest_by_device``); the catalog itself
does not read telemetry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db.models import Model
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import choices
from catalog import models as m
from catalog.api.hierarchy_serializers import HierarchyQuerySerializer, SystemTreeSerializer
from catalog.selectors import Part, fingerprint
from solarmon.api.viewsets import ApiView

DeviceStates = Mapping[tuple[str, str], Mapping[str, Any]]
DeviceStateSource = Callable[[str], DeviceStates]

UNKNOWN_STATUS: dict[str, Any] = {"state": "unknown", "last_seen": None, "last_error": None,
                                  "consecutive_failures": 0, "active_adapter_id": None}


def no_device_states(system_id: str) -> DeviceStates:
    """The device state source without telemetry: every device is "unknown", with no values."""
    return {}


def _group(rows: Iterable[Model], key: str) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return groups


def _set_state(device: Model, device_type: str, states: DeviceStates) -> None:
    state = states.get((device_type, str(device.pk))) or {}
    device.tree_status = {**UNKNOWN_STATUS, **(state.get("status") or {})}  # type: ignore[attr-defined]
    device.tree_latest = state.get("latest")  # type: ignore[attr-defined]


def build_tree(system: m.System, states: DeviceStates, with_cells: bool) -> m.System:
    """Attach the system's descendants (``tree_*`` attributes) to ``system``, one query per table."""
    sid = system.pk
    arrays = list(m.InverterArray.objects.filter(system=sid))
    inverters = _group(m.Inverter.objects.filter(system=sid), "array_id")
    meters = list(m.Meter.objects.filter(system=sid))
    battery_arrays = list(m.BatteryArray.objects.filter(system=sid))
    packs = _group(m.BatteryPack.objects.filter(system=sid), "battery_array_id")
    links = _group(m.BatteryPackAdapter.objects.filter(pack__system=sid), "pack_id")
    batteries = _group(m.Battery.objects.filter(system=sid), "pack_id")
    cells = _group(m.BatteryCell.objects.filter(system=sid), "battery_id") if with_cells else {}
    attachments = list(m.BatteryArrayAttachment.objects.filter(battery_array__system=sid))

    array_meters = _group((meter for meter in meters if meter.array_id), "array_id")
    for array in arrays:
        array.tree_inverters = inverters.get(array.pk, [])  # type: ignore[attr-defined]
        array.tree_meters = array_meters.get(array.pk, [])  # type: ignore[attr-defined]
        for inverter in array.tree_inverters:  # type: ignore[attr-defined]
            _set_state(inverter, choices.DeviceType.INVERTER, states)
    for meter in meters:
        _set_state(meter, choices.DeviceType.METER, states)
    active = {a.battery_array_id: a.inverter_array_id for a in attachments if a.detached_at is None}
    for battery_array in battery_arrays:
        battery_array.tree_attached_array_id = active.get(battery_array.pk)  # type: ignore[attr-defined]
        battery_array.tree_packs = packs.get(battery_array.pk, [])  # type: ignore[attr-defined]
        for pack in battery_array.tree_packs:  # type: ignore[attr-defined]
            _set_state(pack, choices.DeviceType.BATTERY_PACK, states)
            pack.tree_adapters = links.get(pack.pk, [])
            pack.tree_batteries = batteries.get(pack.pk, [])
            for battery in pack.tree_batteries:
                battery.tree_cells = cells.get(battery.pk, []) if with_cells else None
    system.tree_arrays = arrays  # type: ignore[attr-defined]
    system.tree_battery_arrays = battery_arrays  # type: ignore[attr-defined]
    system.tree_meters = [meter for meter in meters if not meter.array_id]  # type: ignore[attr-defined]
    system.tree_attachments = attachments  # type: ignore[attr-defined]
    return system


class SystemHierarchyView(ApiView):
    """A system's whole tree in one answer.

    Inverter arrays with their inverters and array meters, battery arrays with their packs
    (with adapter links and battery units; cells with `?cells=1`), system-level meters, and
    the attachment history. Inverters, packs and meters carry their polling `status` and
    `latest` values. The number of database queries does not grow with the system's size.
    """

    device_states: DeviceStateSource = staticmethod(no_device_states)

    @extend_schema(
        operation_id="systems_hierarchy",
        parameters=[
            OpenApiParameter("system_id", str, OpenApiParameter.PATH, description="The system's id"),
            OpenApiParameter("cells", bool, description="Include each battery unit's cells"),
        ],
        responses=SystemTreeSerializer,
        tags=["systems"],
    )
    def get(self, request: Request, system_id: str) -> Response:
        query = HierarchyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        held = held_rendering(system_id)
        if held is None:
            raise Http404("No such system.")
        states = self.device_states(system_id)
        return Response(render_tree(held, states, with_cells=query.validated_data["cells"]))


@cache
def tree_serializer() -> SystemTreeSerializer:
    """One tree serializer per process, its fields built once: DRF builds a model serializer's
    fields from the model's metadata for every new instance, which for the nine nested
    serializers of a tree cost more than the queries. Rendering only reads the serializer, so
    the threads of a worker share it."""
    return SystemTreeSerializer()



# The tables of the part of a tree that is rendered once per catalog change and held by the
# process: their rows carry ``updated_at``, so one aggregate query says whether any changed.
# Pack adapter links, battery units, cells and attachments are edited in place without such
# a column: they are read and rendered at every request (one query each).
HELD_PARTS: list[Part] = [
    ("systems", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("arrays", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("battery_arrays", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("inverters", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("meters", True, ["COUNT(*)", "MAX(updated_at)"]),
    ("battery_packs", True, ["COUNT(*)", "MAX(updated_at)"]),
]
_HELD: dict[str, tuple[tuple[Any, ...], dict[str, Any] | None]] = {}


def held_rendering(system_id: str) -> dict[str, Any] | None:
    """The system's tree rendered without live state, as held by this process (one query while
    the ``HELD_PARTS`` tables are unchanged); None for no such system."""
    mark = fingerprint(system_id, HELD_PARTS)
    held = _HELD.get(system_id)
    if held is not None and held[0] == mark:
        return held[1]
    system = m.System.objects.filter(pk=system_id).first()
    rendering = None if system is None else tree_serializer().to_representation(
        build_tree(system, {}, with_cells=False))
    _HELD[system_id] = (mark, rendering)
    return rendering


def forget_held_renderings() -> None:
    """Drop every held rendering (tests that rewrite the catalog behind the process's back)."""
    _HELD.clear()


def render_tree(held: dict[str, Any], states: DeviceStates, with_cells: bool) -> dict[str, Any]:
    """``held`` (see :func:`held_rendering`) with the parts read now: each device's status and
    latest values, pack adapter links, battery units (with cells when asked) and attachments.

    The answer is what rendering :func:`build_tree` whole gives; ``held`` is not changed.
    """
    sid = held["system_id"]
    links = _group(m.BatteryPackAdapter.objects.filter(pack__system=sid), "pack_id")
    batteries = _group(m.Battery.objects.filter(system=sid), "pack_id")
    cells = _group(m.BatteryCell.objects.filter(system=sid), "battery_id") if with_cells else {}
    attachments = list(m.BatteryArrayAttachment.objects.filter(battery_array__system=sid))
    active = {a.battery_array_id: a.inverter_array_id for a in attachments if a.detached_at is None}
    for pack_batteries in batteries.values():
        for battery in pack_batteries:
            battery.tree_cells = cells.get(battery.pk, []) if with_cells else None
    fields = _node_fields()

    def live(node: dict[str, Any], device_type: str, key: str) -> dict[str, Any]:
        state = states.get((device_type, node[key])) or {}
        status = {**UNKNOWN_STATUS, **(state.get("status") or {})}
        return {**node, "status": fields.status.to_representation(status), "latest": state.get("latest")}

    def meters(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [live(meter, choices.DeviceType.METER, "meter_id") for meter in nodes]

    return {
        **held,
        "arrays": [{**array, "inverters": [live(inverter, choices.DeviceType.INVERTER, "inverter_id")
                                           for inverter in array["inverters"]],
                    "meters": meters(array["meters"])} for array in held["arrays"]],
        "battery_arrays": [
            {**battery_array, "attached_array_id": active.get(battery_array["battery_array_id"]),
             "packs": [{**live(pack, choices.DeviceType.BATTERY_PACK, "pack_id"),
                        "adapters": fields.adapters.to_representation(links.get(pack["pack_id"], [])),
                        "batteries": fields.batteries.to_representation(batteries.get(pack["pack_id"], []))}
                       for pack in battery_array["packs"]]}
            for battery_array in held["battery_arrays"]],
        "meters": meters(held["meters"]),
        "attachments": fields.attachments.to_representation(attachments),
    }


@dataclass(frozen=True)
class _NodeFields:
    status: Any
    adapters: Any
    batteries: Any
    attachments: Any


@cache
def _node_fields() -> _NodeFields:
    """The shared tree serializer's fields that :func:`render_tree` renders with."""
    tree: Any = tree_serializer().fields
    pack = tree["battery_arrays"].child.fields["packs"].child.fields
    return _NodeFields(pack["status"], pack["adapters"], pack["batteries"], tree["attachments"])
