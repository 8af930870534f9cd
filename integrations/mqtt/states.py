"""The JSON state of each Home Assistant device, built from the latest samples.

One message per device: every key of its sensor table is present (``null`` when unknown,
which Home Assistant shows as "unknown"), plus ``ts``, the sample's time. A pack's message
carries its units and their cells (``units``: unit number → values, ``cells``: voltages in
cell order), which the battery unit devices read. Energy keys are raised by the guard so
they never decrease.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from catalog import models as catalog
from integrations.choices import HaKind
from integrations.mqtt.devices import HaDevice, Installation
from integrations.mqtt.energy import EnergyGuard, Totals, local_midnight
from integrations.mqtt.sensors import BY_KIND, METER_PHASES
from telemetry import models as t
from telemetry.selectors import latest_pack_detail

FRESH_INTERVALS = 3  # a pack sample older than this many poll intervals is left out of a battery array


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


def _num(value: Any, digits: int = 3) -> Any:
    return round(value, digits) if isinstance(value, float) else value


def _from_row(kind: str, row: Any) -> dict[str, Any]:
    return {spec.key: _num(getattr(row, spec.key, None)) if row is not None else None
            for spec in BY_KIND[kind]}


def inverter_state(dev: HaDevice, rollup: dict[str, float | None]) -> dict[str, Any]:
    """Live values and lifetime energy of an inverter (its counters, else its rollups)."""
    row = t.EnergySample.objects.filter(inverter_id=dev.device_id).order_by("-ts").first()
    state = _from_row(HaKind.INVERTER, row)
    for key, value in rollup.items():
        if state.get(key) is None:
            state[key] = value
    return {**state, "ts": _iso(row.ts if row else None)}


def meter_state(dev: HaDevice, rollup: dict[str, float | None]) -> dict[str, Any]:
    """A meter: live values, import from its lifetime counter (else rollups), export from rollups."""
    row = t.MeterSample.objects.filter(meter_id=dev.device_id).order_by("-ts").first()
    state = _from_row(HaKind.METER, row)
    state.update({s.key: _num(getattr(row, s.key)) for s in METER_PHASES if row is not None
                  and getattr(row, s.key) is not None})
    state["grid_import_total_kwh"] = (_num(row.energy_kwh) if row is not None and row.energy_kwh is not None
                                      else rollup.get("grid_import_total_kwh"))
    state["grid_export_total_kwh"] = rollup.get("grid_export_total_kwh")
    return {**state, "ts": _iso(row.ts if row else None)}


def pack_state(dev: HaDevice, rollup: dict[str, float | None]) -> dict[str, Any]:
    """A pack with its units and cells (the newest sample of each, three queries)."""
    detail = latest_pack_detail(dev.device_id) or {}
    state: dict[str, Any] = {spec.key: _num(detail.get(spec.key)) for spec in BY_KIND[HaKind.PACK]}
    state["power_w"] = _num(detail.get("power_w"))
    units: dict[str, Any] = {}
    voltages: list[float] = []
    for unit in detail.get("units", []):
        cells = [_num(c["voltage"]) for c in unit["cells"]]
        voltages += [v for v in cells if v is not None]
        units[str(unit["power"])] = {"voltage": _num(unit["voltage"]), "current": _num(unit["current"]),
                                     "soc": _num(unit["soc"]), "temperature": _num(unit["temperature"]),
                                     "power_w": _num(unit["power_w"]), "cycles": unit["cycles"],
                                     "cells": cells}
    if voltages:
        state.update(cell_min_v=min(voltages), cell_max_v=max(voltages),
                     cell_delta_v=round(max(voltages) - min(voltages), 3))
    state.update(rollup)
    return {**state, "units": units, "ts": _iso(detail.get("ts"))}


def array_state(dev: HaDevice, rollup: dict[str, float | None]) -> dict[str, Any]:
    row = t.ArraySample.objects.filter(array_id=dev.device_id).order_by("-ts").first()
    state = {**_from_row(HaKind.ARRAY, row), **rollup}
    return {**state, "ts": _iso(row.ts if row else None)}


def battery_array_state(dev: HaDevice, intervals: dict[tuple[str, str], float], now: datetime,
                        rollups: Totals) -> dict[str, Any]:
    """The battery array's fresh packs summed (power) and capacity-weighted (SOC)."""
    packs = {p.pk: p for p in catalog.BatteryPack.objects.filter(battery_array_id=dev.device_id)}
    heads = []
    for pack_id in packs:
        head = t.BatteryBankSample.objects.filter(pack_id=pack_id).order_by("-ts").first()
        window = timedelta(seconds=FRESH_INTERVALS * intervals.get(("battery_pack", pack_id), 10.0))
        if head is not None and now - head.ts <= window:
            heads.append(head)
    power = [h.power_w for h in heads if h.power_w is not None]
    weighted = [(h.soc, packs[h.pack_id].nominal_kwh or 1.0) for h in heads if h.soc is not None]
    soc = (round(sum(s * w for s, w in weighted) / sum(w for _, w in weighted), 1) if weighted else None)
    totals: dict[str, Any] = {}
    for key in ("batt_charge_total_kwh", "batt_discharge_total_kwh"):
        values = [rollups.get(("pack", p), {}).get(key) for p in packs]
        present = [v for v in values if v is not None]
        totals[key] = round(sum(present), 3) if present else None
    return {"power_w": round(sum(power)) if power else None, "soc": soc, **totals,
            "ts": _iso(max((h.ts for h in heads), default=None))}


def system_state(dev: HaDevice, rollup: dict[str, float | None], today: dict[str, float | None],
                 tz: str, now: datetime) -> dict[str, Any]:
    """Live power flow, lifetime energy and today's energy (reset at local midnight)."""
    row = t.SystemSample.objects.filter(system_id=dev.device_id).order_by("-ts").first()
    state = {**_from_row(HaKind.SYSTEM, row), **rollup, **today}
    state["grid_source"] = row.grid_source if row is not None else None
    state["last_reset"] = local_midnight(now, tz).isoformat()
    return {**state, "ts": _iso(row.ts if row else None)}


def guard_state(dev: HaDevice, state: dict[str, Any], guard: EnergyGuard, tz: str, now: datetime) -> None:
    """Raise every energy value of ``state`` to its mark (in place)."""
    day = local_midnight(now, tz).date()
    for spec in BY_KIND[dev.kind]:
        if not spec.is_energy:
            continue
        key = f"{dev.kind}:{dev.device_id}:{spec.key}"
        state[spec.key] = (guard.today(key, state.get(spec.key), day) if spec.is_today
                           else guard.total(key, state.get(spec.key)))


def device_state(dev: HaDevice, inst: Installation, rollups: Totals, today: dict[str, float | None],
                 intervals: dict[tuple[str, str], float], guard: EnergyGuard, now: datetime
                 ) -> dict[str, Any] | None:
    """The guarded JSON state of ``dev``; None for a battery unit (its pack's message carries it)."""
    rollup = rollups.get((dev.kind, dev.device_id), {})
    if dev.kind == HaKind.INVERTER:
        state = inverter_state(dev, rollup)
    elif dev.kind == HaKind.METER:
        state = meter_state(dev, rollup)
    elif dev.kind == HaKind.PACK:
        state = pack_state(dev, rollup)
    elif dev.kind == HaKind.ARRAY:
        state = array_state(dev, rollup)
    elif dev.kind == HaKind.BATTERY_ARRAY:
        state = battery_array_state(dev, intervals, now, rollups)
    elif dev.kind == HaKind.SYSTEM:
        state = system_state(dev, rollup, today, inst.timezone, now)
    else:
        return None
    guard_state(dev, state, guard, inst.timezone, now)
    return state
