"""Battery rules: cell spread, cell voltage limits, temperature limits, charging when cold, low SOC."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alerts.data import spread_mv
from alerts.kinds import register
from alerts.kinds.base import (
    CELL_SPREAD_MV,
    CELL_VOLTAGES,
    TEMPERATURES,
    Limit,
    RuleKind,
    above,
    below,
    outside,
    rounded,
)
from telemetry.choices import DeviceKind

if TYPE_CHECKING:
    from alerts.data import DeviceData
    from alerts.models import AlertRule

# A pack counts as charging above this current: BMS current readings wander within about
# ±1 A at rest, and charging an LFP cell below 0 °C at a trickle does no harm.
CHARGING_MIN_A = 1.0


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

    def check(self, rule: AlertRule, data: DeviceData) -> tuple[bool, bool] | None:
        count, low_v, high_v = data.cell_volts
        if count < 2 or rule.high is None:
            return None
        return above(spread_mv(low_v, high_v), rule.high, rule.hysteresis)

    def quiet_when(self, rule: AlertRule) -> list[tuple[Limit, ...]] | None:
        return [] if rule.high is None else [(Limit(CELL_SPREAD_MV, high=rule.high),)]

    def values(self, rule: AlertRule, data: DeviceData) -> dict[str, Any]:
        _, low_v, high_v = data.cell_volts
        return {"spread_mv": spread_mv(low_v, high_v), **data.cell_extremes()}

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

    def check(self, rule: AlertRule, data: DeviceData) -> tuple[bool, bool] | None:
        count, low_v, high_v = data.cell_volts
        if not count:
            return None
        return outside(low_v, high_v, rule.low, rule.high, rule.hysteresis)

    def quiet_when(self, rule: AlertRule) -> list[tuple[Limit, ...]] | None:
        return [(Limit(CELL_VOLTAGES, rule.low, rule.high),)]

    def values(self, rule: AlertRule, data: DeviceData) -> dict[str, Any]:
        return data.cell_extremes()

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

    def check(self, rule: AlertRule, data: DeviceData) -> tuple[bool, bool] | None:
        found = data.temperature_range
        if found is None:
            return None
        return outside(found[0], found[1], rule.low, rule.high, rule.hysteresis)

    def quiet_when(self, rule: AlertRule) -> list[tuple[Limit, ...]] | None:
        return [(Limit(TEMPERATURES, rule.low, rule.high),)]

    def values(self, rule: AlertRule, data: DeviceData) -> dict[str, Any]:
        return data.temperature_extremes()

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

    def check(self, rule: AlertRule, data: DeviceData) -> tuple[bool, bool] | None:
        found = data.temperature_range
        current = (data.head or {}).get("current")
        if found is None or current is None:
            return None
        out, back = outside(found[0], found[1], rule.low, rule.high, rule.hysteresis)
        # Stopping the charge ends the condition as surely as warming up does.
        return out and current > CHARGING_MIN_A, back or current <= 0

    def quiet_when(self, rule: AlertRule) -> list[tuple[Limit, ...]] | None:
        # Either warm enough or not charging: a cold pack at rest is quiet too.
        return [(Limit(TEMPERATURES, rule.low, rule.high), Limit("current", high=CHARGING_MIN_A))]

    def values(self, rule: AlertRule, data: DeviceData) -> dict[str, Any]:
        low_c, high_c = data.temperature_range or (None, None)
        return {"current_a": rounded((data.head or {}).get("current"), 2), "min_c": low_c, "max_c": high_c}

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

    def check(self, rule: AlertRule, data: DeviceData) -> tuple[bool, bool] | None:
        soc = (data.head or {}).get("soc")
        if soc is None or rule.low is None:
            return None
        return below(soc, rule.low, rule.hysteresis)

    def quiet_when(self, rule: AlertRule) -> list[tuple[Limit, ...]] | None:
        return [] if rule.low is None else [(Limit("soc", low=rule.low),)]

    def values(self, rule: AlertRule, data: DeviceData) -> dict[str, Any]:
        return {"soc": rounded((data.head or {}).get("soc"), 1)}

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        return f"{subject} at {values.get('soc')} % charge" if raised else f"{subject} charge back up"
