"""List endpoints of the rollup tables (read-only; rows have composite keys, so no detail view)."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import mixins, viewsets

from aggregation import models as m
from aggregation.api.filters import rollup_filterset
from aggregation.api.serializers import rollup_serializer
from solarmon.api.viewsets import ApiViewSetMixin


class RollupViewSet(ApiViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Base of the rollup endpoints: list with filters, ordering and paging."""

    http_method_names = ["get", "options"]


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
    }
    return type(f"{model.__name__}ViewSet", (RollupViewSet,), attrs)


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
