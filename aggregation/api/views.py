"""List endpoints of the rollup tables (read-only; rows have composite keys, so no detail view)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import models
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from aggregation import models as m
from aggregation.api import live
from aggregation.api.filters import rollup_filterset
from aggregation.api.serializers import (
    SeriesQuerySerializer,
    SeriesSerializer,
    TodayEnergySerializer,
    rollup_serializer,
)
from aggregation.selectors import today_energy
from aggregation.series import OWNERS, series
from catalog import models as catalog
from solarmon.api.filters import ApiOrderingFilter
from solarmon.api.viewsets import ApiView, ApiViewSetMixin


def rollup_viewset(model: type[models.Model], ids: list[str], doc: str) -> type[RollupViewSet]:
    """A list viewset over ``model`` filtered by local date range and ids, ordered in time."""
    date_field = "day" if model is m.MeterDaily else "date"
    hourly = any(f.name == "hour_start" for f in model._meta.concrete_fields)
    order = [date_field, "start_utc", *ids] if hourly else [date_field, *ids]
    attrs: dict[str, Any] = {
        "__doc__": doc,
        "queryset": model._default_manager.order_by(*order),
        "serializer_class": rollup_serializer(model),
        "filterset_class": rollup_filterset(model, date_field, ids),
        "ordering_fields": [date_field, *(["hour_start", "start_utc"] if hourly else []), *ids],
        "date_field": date_field,
        "hourly": hourly,
    }
    return type(f"{model.__name__}ViewSet", (RollupViewSet,), attrs)


class RollupViewSet(ApiViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The rollup endpoints: list with filters, ordering and paging. The stored rows, and from each
    system's open span on, those built on read (see aggregation.api.live), so the current hour and
    today are live and do not depend on how far the periodic rollup has closed them."""

    http_method_names = ["get", "options"]
    date_field = "date"
    hourly = False

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        now = timezone.now()
        queryset = self.filter_queryset(self.get_queryset())  # a bad filter is a 400 here
        filterset = DjangoFilterBackend().get_filterset(request, self.get_queryset(), self)
        filterset.is_valid()
        model = queryset.model
        built = (live.hourly(model, filterset, now) if self.hourly
                 else live.daily(model, self.date_field, filterset, now))
        default = [str(key) for key in self.get_queryset().query.order_by]
        requested = ApiOrderingFilter().get_ordering(request, queryset, self) or []
        rows = live.merged(queryset, built, requested, default)
        page: Any = self.paginate_queryset(rows)  # type: ignore[arg-type]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


_HOURLY = ("Hourly rollups: energy (kWh) and average power (W) per local hour, with source and "
           "coverage. `date` is the local date, `hour_start` the local hour; `fold` 1 marks the "
           "second occurrence of the hour repeated at the autumn DST change.")
_DAILY = ("Daily rollups per local date: energy, peaks, SOC range, battery cycles, grid extremes, "
          "weather factor, with source and coverage.")

_INVERTER = ["system_id", "array_id", "inverter_id"]

VIEWSETS: list[tuple[str, type[RollupViewSet]]] = [
    ("energy/inverters/hourly", rollup_viewset(m.InverterHourlyEnergy, _INVERTER, f"Inverters. {_HOURLY}")),
    ("energy/inverters/daily", rollup_viewset(m.InverterDailySummary, _INVERTER, f"Inverters. {_DAILY}")),
    ("energy/arrays/hourly", rollup_viewset(m.ArrayHourlyEnergy, ["system_id", "array_id"],
                                            f"Inverter arrays (sums of their inverters). {_HOURLY}")),
    ("energy/arrays/daily", rollup_viewset(m.ArrayDailySummary, ["system_id", "array_id"],
                                           f"Inverter arrays. {_DAILY}")),
    ("energy/systems/hourly", rollup_viewset(m.SystemHourlyEnergy, ["system_id"],
                                             f"Systems (grid from a system meter if any). {_HOURLY}")),
    ("energy/systems/daily", rollup_viewset(m.SystemDailySummary, ["system_id"], f"Systems. {_DAILY}")),
    ("energy/packs/hourly", rollup_viewset(m.BatteryBankHourly, ["system_id", "battery_array_id", "pack_id"],
                                           "Battery packs: charge/discharge energy and SOC, voltage, "
                                           "current and temperature per local hour.")),
    ("energy/packs/daily", rollup_viewset(m.BatteryBankDaily, ["system_id", "battery_array_id", "pack_id"],
                                          "Battery packs per local date, with cycles.")),
    ("energy/meters/hourly", rollup_viewset(m.MeterHourlyEnergy, ["system_id", "meter_id"],
                                            "Meters: import and export energy per local hour.")),
    ("energy/meters/daily", rollup_viewset(m.MeterDaily, ["system_id", "meter_id"],
                                           "Meters per local date (`day`): import, export, net, peaks.")),
]


TODAY_KINDS: dict[str, type[models.Model]] = {
    "system": catalog.System, "array": catalog.InverterArray, "inverter": catalog.Inverter,
    "pack": catalog.BatteryPack, "meter": catalog.Meter}


class TodayEnergyView(ApiView):
    """Today's energy (kWh) of a system, array, inverter, battery pack or meter, on the system's local date.

    Live: the closed hours come from the hourly rollups, the rest is computed from the raw samples
    on read, leaving out only each device's newest sample. The figures are therefore at most one
    poll interval behind and never go down during the day.
    """

    serializer_class = TodayEnergySerializer

    @extend_schema(parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH,
                                                enum=sorted(TODAY_KINDS))])
    def get(self, request: Request, kind: str, device_id: str) -> Response:
        if kind not in TODAY_KINDS:
            raise NotFound(f"unknown kind {kind!r}; one of {', '.join(sorted(TODAY_KINDS))}")
        target = get_object_or_404(TODAY_KINDS[kind], pk=device_id)
        return Response(TodayEnergySerializer({"kind": kind, "device_id": device_id,
                                               **today_energy(target)}).data)  # type: ignore[arg-type]


class SeriesView(ApiView):
    """One device's (or array's or system's) quantities over a time range, as at most ``points`` buckets.

    The source follows the range: raw samples for short recent ranges, the 5-minute tiers up to
    about ten days, the hourly rollups beyond (``source`` says which). Every bucket of the range
    comes back in order; an empty one (``samples`` 0, null values) is a gap. ``min``/``max``
    hold each bucket's extremes where the source keeps them. Times are UTC; ``timezone`` is the
    system's.
    """

    serializer_class = SeriesSerializer

    @extend_schema(parameters=[SeriesQuerySerializer,
                               OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=sorted(OWNERS))],
                   responses=SeriesSerializer)
    def get(self, request: Request, kind: str, device_id: str) -> Response:
        if kind not in OWNERS:
            raise NotFound(f"unknown series kind {kind!r}; one of {', '.join(sorted(OWNERS))}")
        get_object_or_404(OWNERS[kind], pk=device_id)
        query = SeriesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        end = query.validated_data.get("end") or timezone.now()
        start = query.validated_data.get("start") or end - timedelta(hours=24)
        if start >= end:
            start = end - timedelta(hours=24)
        fields = [f.strip() for f in query.validated_data.get("fields", "").split(",") if f.strip()] or None
        data = series(kind, device_id, start, end, query.validated_data["points"], fields)
        # Up to 1000 points of plain numbers: rendered as they are (SeriesSerializer documents the
        # shape); running them through nested serializers would cost more than the query.
        return Response(data)
