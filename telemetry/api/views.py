"""Telemetry endpoints: device status, a system's live state, and downsampled sample series."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import models as catalog
from solarmon.api.viewsets import ApiReadOnlyViewSet, ApiView
from telemetry import models as t
from telemetry.api.serializers import (
    DeviceStatusSerializer,
    LiveSystemSerializer,
    SeriesQuerySerializer,
    SeriesSerializer,
)
from telemetry.choices import DeviceKind
from telemetry.selectors import latest_by_device, latest_system_sample
from telemetry.series import SERIES, series
from telemetry.status import STALE_AFTER_INTERVALS

SERIES_OWNERS = {"inverter": catalog.Inverter, "meter": catalog.Meter, "battery_pack": catalog.BatteryPack,
                 "array": catalog.InverterArray, "system": catalog.System}


class DeviceStatusFilter(django_filters.FilterSet):
    system_id = django_filters.CharFilter(field_name="system_id", help_text="Only this system's devices")
    device_type = django_filters.ChoiceFilter(choices=DeviceKind.choices, help_text="Only this kind")

    class Meta:
        model = t.DeviceStatus
        fields = ["system_id", "device_type", "device_id"]


class DeviceStatusViewSet(ApiReadOnlyViewSet):
    """Polling health of every device: last good reading, last error, failures, active adapter.

    ``state`` is aged to the time of the request, so a device whose poller stopped shows
    stale, then offline, never a frozen "online".
    """

    queryset = t.DeviceStatus.objects.all()
    serializer_class = DeviceStatusSerializer
    filterset_class = DeviceStatusFilter
    ordering_fields = ["device_type", "device_id", "last_seen", "consecutive_failures"]
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
    A fixed number of queries whatever the size of the system.
    """

    serializer_class = LiveSystemSerializer

    def get(self, request: Request, system_id: str) -> Response:
        system = get_object_or_404(catalog.System, pk=system_id)
        now = timezone.now()
        intervals = t.DeviceStatus.objects.filter(system=system).values_list("poll_interval_s", flat=True)
        interval = max(intervals, default=10.0)
        latest = latest_system_sample(system.pk, now)
        arrays = []
        if latest is not None:
            for row in t.ArraySample.objects.filter(system=system, ts=latest.ts).order_by("array_id"):
                arrays.append({**_flow(row, now, interval), "array_id": row.array_id,
                               "inverters_reporting": row.inverters_reporting,
                               "inverters_total": row.inverters_total})
        devices = [{"device_type": kind, "device_id": device_id, **state["status"]}
                   for (kind, device_id), state in sorted(latest_by_device(system.pk, now).items())]
        body = {**_flow(latest, now, interval), "system_id": system.pk,
                "grid_source": latest.grid_source if latest else None, "arrays": arrays, "devices": devices}
        return Response(LiveSystemSerializer(body).data)


class SeriesView(ApiView):
    """Samples of one device (or array or system) over a time range, as bucket averages.

    ``points`` bounds the answer: a week of 5-second samples comes back as at most that many
    points, each the average of its bucket (``step_s`` seconds wide).
    """

    serializer_class = SeriesSerializer

    @extend_schema(parameters=[SeriesQuerySerializer,
                               OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=sorted(SERIES))])
    def get(self, request: Request, kind: str, device_id: str) -> Response:
        if kind not in SERIES:
            raise NotFound(f"unknown series kind {kind!r}; one of {', '.join(sorted(SERIES))}")
        get_object_or_404(SERIES_OWNERS[kind], pk=device_id)
        query = SeriesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        end = query.validated_data.get("end") or timezone.now()
        start = query.validated_data.get("start") or end - timedelta(hours=24)
        if start >= end:
            start = end - timedelta(hours=24)
        data = series(kind, device_id, start, end, query.validated_data["points"])
        return Response(SeriesSerializer(data).data)
