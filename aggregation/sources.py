"""What the rollups read: the sample tables as data (flows, counters, statistics) and each
device's limits (plausible power, longest gap bridged).

Settings (solarmon/settings.py, README): ``SOLARMON_ROLLUP_GAP_INTERVALS`` (3): gaps longer than
this many poll intervals are not bridged; ``SOLARMON_ROLLUP_MAX_POWER_W`` (30000): plausible
power of an inverter without ``rated_power_w``; ``SOLARMON_ROLLUP_METER_MAX_POWER_W`` (100000):
plausible power through a meter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from django.conf import settings

from aggregation.sql import Device, Flow, Table
from catalog import models as catalog
from telemetry.models import DeviceStatus

# No gap longer than this is bridged, whatever the poll interval: beyond a few minutes nothing
# says how the power went in between.
MAX_GAP_LIMIT_S = 450.0
# History imported from the original system was sampled at its own spacing (RecordedInterval),
# often thinned: gaps of a few of its intervals are bridged up to this long.
RECORDED_GAP_LIMIT_S = 3600.0
DEFAULT_INTERVAL_S = 10.0
# Rated power is the inverter's AC nameplate; PV oversizing and grid pass-through can exceed it.
RATED_HEADROOM = 1.5

# Every statistic is kept as its sum, count, maximum and minimum: what the rollup tables'
# averages, peaks and ranges need, and what the 5-minute tiers keep (aggregation.tiers).
STATS = ("sum", "cnt", "max", "min")

ENERGY = Table(
    name="energy_samples",
    device="inverter_id",
    columns={
        "p_pv": "pv_power_w", "p_load": "load_power_w", "p_batt": "batt_power_w",
        "p_grid": "grid_power_w", "soc": "soc",
        # Lifetime counters when the device has them, else the daily ones (reset at midnight).
        "c_pv": "COALESCE(pv_total_kwh, pv_today_kwh)",
        "c_load": "COALESCE(load_total_kwh, load_today_kwh)",
        "c_chg": "COALESCE(batt_charge_total_kwh, batt_charge_today_kwh)",
        "c_dis": "COALESCE(batt_discharge_total_kwh, batt_discharge_today_kwh)",
        "c_imp": "COALESCE(grid_import_total_kwh, grid_import_today_kwh)",
        "c_exp": "COALESCE(grid_export_total_kwh, grid_export_today_kwh)",
    },
    flows=(
        Flow("pv", "p_pv", 1, "c_pv"), Flow("load", "p_load", 1, "c_load"),
        Flow("charge", "p_batt", 1, "c_chg"), Flow("discharge", "p_batt", -1, "c_dis"),
        Flow("import", "p_grid", 1, "c_imp"), Flow("export", "p_grid", -1, "c_exp"),
    ),
    stats={name: STATS for name in ("p_pv", "p_load", "p_batt", "p_grid", "soc")},
    resolution_kwh=0.1,
)

METER = Table(
    name="meter_samples",
    device="meter_id",
    columns={
        "p_grid": "grid_power_w", "c_imp": "grid_import_wh / 1000.0", "c_exp": "grid_export_wh / 1000.0",
        "volt": "grid_voltage_v", "amp": "grid_current_a", "freq": "grid_frequency_hz",
    },
    flows=(Flow("import", "p_grid", 1, "c_imp"), Flow("export", "p_grid", -1, "c_exp")),
    stats={name: STATS for name in ("p_grid", "volt", "amp", "freq")},
    resolution_kwh=0.001,
)

PACK = Table(
    name="battery_bank_samples",
    device="pack_id",
    columns={"p_batt": "COALESCE(power_w, voltage * current)", "soc": "soc", "volt": "voltage",
             "amp": "current", "temp": "temperature"},
    flows=(Flow("charge", "p_batt", 1), Flow("discharge", "p_batt", -1)),
    stats={name: STATS for name in ("p_batt", "soc", "volt", "amp", "temp")},
)


def gap_intervals() -> float:
    return float(settings.SOLARMON_ROLLUP_GAP_INTERVALS)


def default_cap_w() -> float:
    return float(settings.SOLARMON_ROLLUP_MAX_POWER_W)


def meter_cap_w() -> float:
    return float(settings.SOLARMON_ROLLUP_METER_MAX_POWER_W)


def max_gap(interval_s: float) -> float:
    """The longest gap bridged for a device polled every ``interval_s`` seconds."""
    return min(MAX_GAP_LIMIT_S, gap_intervals() * interval_s)


def _intervals(kind: str, ids: list[str], adapters: Mapping[str, catalog.Adapter | None]
               ) -> dict[str, float]:
    """Poll interval per device: its adapter's setting, else its recorded status, else the default."""
    recorded = dict(DeviceStatus.objects.filter(device_type=kind, device_id__in=ids)
                    .values_list("device_id", "poll_interval_s"))
    out = {}
    for device_id in ids:
        adapter = adapters.get(device_id)
        if adapter is not None:
            out[device_id] = adapter.effective_poll_interval()
        else:
            out[device_id] = float(recorded.get(device_id) or DEFAULT_INTERVAL_S)
    return out


def inverter_limits(inverters: list[catalog.Inverter]) -> list[Device]:
    ids = [i.pk for i in inverters]
    intervals = _intervals("inverter", ids, {i.pk: i.adapter for i in inverters})
    return [Device(i.pk, (i.rated_power_w or 0) * RATED_HEADROOM or default_cap_w(), max_gap(intervals[i.pk]))
            for i in inverters]


def meter_limits(meters: list[catalog.Meter]) -> list[Device]:
    intervals = _intervals("meter", [m.pk for m in meters], {m.pk: m.adapter for m in meters})
    return [Device(m.pk, meter_cap_w(), max_gap(intervals[m.pk])) for m in meters]


def pack_limits(packs: list[catalog.BatteryPack]) -> list[Device]:
    primary = {link.pack_id: link.adapter for link in catalog.BatteryPackAdapter.objects.filter(
        pack__in=packs, enabled=True).select_related("adapter__adapter_type").order_by("-priority")}
    intervals = _intervals("battery_pack", [p.pk for p in packs], primary)
    return [Device(p.pk, default_cap_w(), max_gap(intervals[p.pk])) for p in packs]


def with_recorded_intervals(devices: list[Device], kind: str, start: datetime, end: datetime
                            ) -> list[Device]:
    """``devices`` with the gap of their recorded interval where samples in [start, end) were
    taken less often than they are polled now (imported history, see ``RecordedInterval``)."""
    from aggregation.models import RecordedInterval

    longest: dict[str, float] = {}
    for device_id, interval in RecordedInterval.objects.filter(
            device_type=kind, device_id__in=[d.device_id for d in devices], start__lt=end,
            end__gte=start).values_list("device_id", "interval_s"):
        longest[device_id] = max(longest.get(device_id, 0.0), interval)
    return [replace(d, max_gap_s=max(d.max_gap_s, recorded_gap(longest[d.device_id])))
            if d.device_id in longest else d for d in devices]


def recorded_gap(interval_s: float) -> float:
    """The longest gap bridged in history recorded every ``interval_s`` seconds."""
    return min(RECORDED_GAP_LIMIT_S, gap_intervals() * interval_s)
