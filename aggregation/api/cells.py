"""Endpoints of single cells: one cell's series, and the weakest cell of a pack over a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from aggregation.api.serializers import SeriesQuerySerializer, SeriesSerializer
from aggregation.cells import cell_series, weakest_cell
from catalog import models as catalog
from solarmon.api.viewsets import ApiView


def _range(request: Request) -> tuple[datetime, datetime, int]:
    query = SeriesQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    end = query.validated_data.get("end") or timezone.now()
    start = query.validated_data.get("start") or end - timedelta(hours=24)
    return start, end, query.validated_data["points"]


class CellSeriesView(ApiView):
    """One cell's voltage and temperature over a time range, as at most ``points`` buckets.

    Raw rows for short recent ranges, the cell's 5-minute tier otherwise (``source``); each bucket
    keeps the lowest and highest reading. Shaped as ``/api/series/{kind}/{id}/`` (``kind`` "cell").
    """

    serializer_class = SeriesSerializer

    @extend_schema(parameters=[SeriesQuerySerializer], responses=SeriesSerializer)
    def get(self, request: Request, cell_id: str) -> Response:
        cell = get_object_or_404(catalog.BatteryCell, pk=cell_id)
        start, end, points = _range(request)
        return Response(cell_series(cell, start, end, points))


class WeakestCellSerializer(serializers.Serializer[Any]):
    pack_id = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    cell_id = serializers.CharField(help_text="The cell that reached the period's lowest voltage")
    battery_id = serializers.CharField()
    battery_index = serializers.IntegerField(help_text="Its unit within the pack, from 0")
    cell_index = serializers.IntegerField(help_text="Its index within the unit, from 0")
    voltage_v = serializers.FloatField(help_text="The lowest voltage it reached")
    at = serializers.DateTimeField(help_text="When (UTC; the start of a 5-minute slot, or the raw reading)")


class WeakestCellView(ApiView):
    """The weakest cell of a pack over a period (default: the last 24 hours): the cell that reached
    the lowest voltage, when, and how low. 404 when no cell of the pack was read in the period."""

    serializer_class = WeakestCellSerializer

    @extend_schema(parameters=[SeriesQuerySerializer], responses=WeakestCellSerializer)
    def get(self, request: Request, pack_id: str) -> Response:
        pack = get_object_or_404(catalog.BatteryPack, pk=pack_id)
        start, end, _ = _range(request)
        found = weakest_cell(pack, start, end)
        if found is None:
            return Response({"detail": f"no cell of pack {pack_id!r} was read in the period"}, status=404)
        return Response(WeakestCellSerializer(found).data)
