"""Telemetry endpoints: device status and a system's live state (series: aggregation.api)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import Http404
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.selectors import system_tree
from solarmon.api.viewsets import ApiReadOnlyViewSet, ApiView
from telemetry import models as t
from telemetry.api.serializers import DeviceStatusSerializer, LiveSystemSerializer
from telemetry.choices import DeviceKind
from telemetry.selectors import latest_system_sample, status_dict
from telemetry.status import STALE_AFTER_INTERVALS


class DeviceStatusFilter(django_filters.FilterSet):
    system_id = django_filters.CharFilter(field_name="system_id", help_text="Only this system's devices")
    device_type = django_filters.ChoiceFilter(choices=DeviceKind.choices, help_text="Only this kind")

    class Meta:
        model = t.DeviceStatus
        fields = ["system_id", "device_type", "device_id", "collector"]


class DeviceStatusViewSet(ApiReadOnlyViewSet):
    """Polling health of every device: last good reading, last error, failures, active adapter.

    ``state`` is aged to the time of the request, so a device whose poller stopped shows
    stale, then offline, never a frozen "online".
    """

    queryset = t.DeviceStatus.objects.all()
    serializer_class = DeviceStatusSerializer
    filterset_class = DeviceStatusFilter
    ordering_fields = ["device_type", "device_id", "last_seen", "consecutive_failures", "missed_polls"]
    search_fields = ["device_id", "last_error"]


def _flow(sample: Any, now: Any, interval_s: float) -> dict[str, Any]:
    if sample is None:
        return {"ts": None, "age_s": None, "live": False, "pv_power_w": None, "load_power_w": None,
                "grid_power_w": None, "batt_power_w": None, "batt_soc_pct": None}
    age = (now - sample.ts).total_seconds()
    return {"ts": sample.ts, "age_s": round(age, 1), "live": age <= STALE_AFTER_INTERVALS * interval_s,
            "pv_power_w": sample.pv_power_w, "load_power_w": sample.load_power_w,
            "grid_power_w": sample.grid_power_w, "batt_power_w": sample.batt_power_w,
            "batt_soc_pct": sample.batt_soc_pct}


class LiveSystemView(ApiView):
    """A system's live power flow: the newest system and array totals, and every device's status.

    Values older than a few poll intervals come back with ``live: false``; show them as stale.
    A fixed number of queries whatever the size of the system: the system's devices come from
    the catalog's tree as held by this process (``catalog.selectors.system_tree``, one query
    while the catalog is unchanged), their states from one read of the status table.
    """

    serializer_class = LiveSystemSerializer

    def get(self, request: Request, system_id: str) -> Response:
        tree = system_tree(system_id)
        if tree is None:
            raise Http404("No such system.")
        now = timezone.now()
        statuses = {(s.device_type, s.device_id): s
                    for s in t.DeviceStatus.objects.filter(system_id=tree.system_id)}
        interval = max((s.poll_interval_s for s in statuses.values()), default=10.0)
        latest = latest_system_sample(tree.system_id, now)
        arrays = []
        if latest is not None:
            rows = t.ArraySample.objects.filter(system_id=tree.system_id, ts=latest.ts).order_by("array_id")
            for row in rows:
                arrays.append({**_flow(row, now, interval), "array_id": row.array_id,
                               "inverters_reporting": row.inverters_reporting,
                               "inverters_total": row.inverters_total})
        devices = [{"device_type": kind, "device_id": device_id,
                    **status_dict(statuses.get((kind, device_id)), now)}
                   for kind, device_id in sorted({*tree.device_keys(), *statuses})]
        body = {**_flow(latest, now, interval), "system_id": tree.system_id,
                "grid_source": latest.grid_source if latest else None, "arrays": arrays, "devices": devices}
        return Response(LiveSystemSerializer(body).data)

