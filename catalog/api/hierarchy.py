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
from functools import cache
from typing import Any

from django.db.models import Model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import choices
from catalog import models as m
from catalog.api.hierarchy_serializers import HierarchyQuerySerializer, SystemTreeSerializer
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
        system = get_object_or_404(m.System, pk=system_id)
        states = self.device_states(system.pk)
        tree = build_tree(system, states, with_cells=query.validated_data["cells"])
        return Response(tree_serializer().to_representation(tree))


@cache
def tree_serializer() -> SystemTreeSerializer:
    """One tree serializer per process, its fields built once: DRF builds a model serializer's
    fields from the model's metadata for every new instance, which for the nine nested
    serializers of a tree cost more than the queries. Rendering only reads the serializer, so
    the threads of a worker share it."""
    return SystemTreeSerializer()

