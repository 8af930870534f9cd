"""Battery rules: cell spread, cell voltage limits, temperature limits, charging when cold, low SOC."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alerts.kinds import register
from alerts.kinds.base import Observation, RuleKind, above, below, outside, rounded
from telemetry.choices import DeviceKind

if TYPE_CHECKING:
    from alerts.data import DeviceData
    from alerts.models import AlertRule

# A pack counts as charging above this current: BMS current readings wander within about
# ±1 A at rest, and charging an LFP cell below 0 °C at a trickle does no harm.
CHARGING_MIN_A = 1.0


def _cell_volts(data: DeviceData) -> list[tuple[float, str]]:
    return [(c["voltage"], c["cell_ref_id"]) for c in data.cells if c["voltage"] is not None]


def _temperatures(data: DeviceData) -> list[tuple[float, str]]:
    """Every temperature the poll read: the pack's, each unit's and each cell's, with where."""
    found: list[tuple[float, str]] = []
    head = data.head or {}
    if head.get("temperature") is not None:
        found.append((head["temperature"], data.device_id))
    found += [(u["temperature"], u["battery_id"]) for u in data.units if u["temperature"] is not None]
    found += [(c["temperature"], c["cell_ref_id"]) for c in data.cells if c["temperature"] is not None]
    return found


@register
class CellSpread(RuleKind):
    """Highest minus lowest cell voltage of a pack above ``high`` (mV)."""

    kind = "cell_spread"
    label = "Cell voltage spread high"
    help = "Highest minus lowest cell voltage of the pack, in mV, above “high”."
    unit = "mV"
    device_kinds = (DeviceKind.BATTERY_PACK,)
    requires = frozenset({"high"})
    needs = frozenset({"cells"})

    def observe(self, rule: AlertRule, data: DeviceData) -> Observation | None:
        volts = _cell_volts(data)
        if len(volts) < 2 or rule.high is None:
            return None
        (low_v, low_at), (high_v, high_at) = min(volts), max(volts)
        spread_mv = round((high_v - low_v) * 1000, 1)
        bad, clear = above(spread_mv, rule.high, rule.hysteresis)
        return Observation(bad, clear, {"spread_mv": spread_mv, "min_v": low_v, "min_cell": low_at,
                                        "max_v": high_v, "max_cell": high_at})

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        if raised:
            return f"Cell spread {values.get('spread_mv')} mV on {subject}"
        return f"Cell spread back to normal on {subject}"


@register
class CellVoltage(RuleKind):
    """Any cell below ``low`` or above ``high`` (V)."""

    kind = "cell_voltage"
    label = "Cell voltage out of range"
    help = "Any cell of the pack below “low” or above “high”, in V."
    unit = "V"
    device_kinds = (DeviceKind.BATTERY_PACK,)
    either = frozenset({"low", "high"})
    needs = frozenset({"cells"})

    def observe(self, rule: AlertRule, data: DeviceData) -> Observation | None:
        volts = _cell_volts(data)
        if not volts:
            return None
        (low_v, low_at), (high_v, high_at) = min(volts), max(volts)
        bad, clear = outside(low_v, high_v, rule.low, rule.high, rule.hysteresis)
        return Observation(bad, clear, {"min_v": low_v, "min_cell": low_at, "max_v": high_v,
                                        "max_cell": high_at})

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        if raised:
            return (f"Cell voltage out of range on {subject} (lowest {values.get('min_v')} V, "
                    f"highest {values.get('max_v')} V)")
        return f"Cell voltages back in range on {subject}"


@register
class BatteryTemperature(RuleKind):
    """Pack, unit or cell temperature below ``low`` or above ``high`` (°C)."""

    kind = "battery_temperature"
    label = "Battery temperature out of range"
    help = "The pack's, any unit's or any cell's temperature below “low” or above “high”, in °C."
    unit = "°C"
    device_kinds = (DeviceKind.BATTERY_PACK,)
    either = frozenset({"low", "high"})
    needs = frozenset({"head", "units", "cells"})

    def observe(self, rule: AlertRule, data: DeviceData) -> Observation | None:
        temps = _temperatures(data)
        if not temps:
            return None
        (low_c, low_at), (high_c, high_at) = min(temps), max(temps)
        bad, clear = outside(low_c, high_c, rule.low, rule.high, rule.hysteresis)
        return Observation(bad, clear, {"min_c": low_c, "min_at": low_at, "max_c": high_c, "max_at": high_at})

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        if raised:
            return (f"Battery temperature out of range on {subject} ({values.get('min_c')} to "
                    f"{values.get('max_c')} °C)")
        return f"Battery temperature back in range on {subject}"


@register
class ChargeTemperature(RuleKind):
    """Charging while the coldest temperature is below ``low`` (or the hottest above ``high``)."""

    kind = "charge_temperature"
    label = "Charging outside its temperature range"
    help = (f"The pack charges (more than {CHARGING_MIN_A:g} A) while its coldest temperature is "
            "below “low” or its hottest above “high”, in °C (LFP: no charging below 0 °C).")
    unit = "°C"
    device_kinds = (DeviceKind.BATTERY_PACK,)
    either = frozenset({"low", "high"})
    needs = frozenset({"head", "units", "cells"})

    def observe(self, rule: AlertRule, data: DeviceData) -> Observation | None:
        temps = _temperatures(data)
        current = (data.head or {}).get("current")
        if not temps or current is None:
            return None
        (low_c, _), (high_c, _) = min(temps), max(temps)
        out, back = outside(low_c, high_c, rule.low, rule.high, rule.hysteresis)
        charging = current > CHARGING_MIN_A
        # Stopping the charge ends the condition as surely as warming up does.
        return Observation(out and charging, back or current <= 0,
                           {"current_a": rounded(current, 2), "min_c": low_c, "max_c": high_c})

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        if raised:
            return f"{subject} charges at {values.get('min_c')} °C"
        return f"{subject} no longer charges outside its temperature range"


@register
class LowSoc(RuleKind):
    """State of charge below ``low`` (%)."""

    kind = "soc_low"
    label = "State of charge low"
    help = "The state of charge below “low”, in %."
    unit = "%"
    device_kinds = (DeviceKind.BATTERY_PACK, DeviceKind.INVERTER)
    requires = frozenset({"low"})
    needs = frozenset({"head"})

    def observe(self, rule: AlertRule, data: DeviceData) -> Observation | None:
        soc = (data.head or {}).get("soc")
        if soc is None or rule.low is None:
            return None
        bad, clear = below(soc, rule.low, rule.hysteresis)
        return Observation(bad, clear, {"soc": rounded(soc, 1)})

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        return f"{subject} at {values.get('soc')} % charge" if raised else f"{subject} charge back up"
