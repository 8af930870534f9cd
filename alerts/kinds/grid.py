"""Grid lost and back: a system's grid voltage absent while the house runs on its battery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alerts.choices import SubjectType
from alerts.kinds import register
from alerts.kinds.base import Limit, RuleKind, below, rounded
from telemetry.choices import DeviceKind

if TYPE_CHECKING:
    from alerts.data import DeviceData
    from alerts.models import AlertRule


@register
class GridLost(RuleKind):
    """The grid voltage a meter or inverter reads is below ``low`` (V), while the inverter still
    serves the house (from battery or PV). One alert per system, whichever device saw it: parallel
    inverters and the meter see the same grid, and one outage is one message. Its clearing is
    "grid back". A device that disagrees keeps the alert as it is, so it cannot flap."""

    kind = "grid_lost"
    label = "Grid lost"
    help = ("A meter's or inverter's grid voltage below “low”, in V, while the system runs on "
            "its battery; one alert per system. Cleared (“grid back”) once it is above low + hysteresis.")
    unit = "V"
    device_kinds = (DeviceKind.METER, DeviceKind.INVERTER)
    requires = frozenset({"low"})
    needs = frozenset({"head"})
    subject_type = SubjectType.SYSTEM

    def subject(self, device_type: str, device_id: str, system_id: str) -> tuple[str, str]:
        return SubjectType.SYSTEM, system_id

    def check(self, rule: AlertRule, data: DeviceData) -> tuple[bool, bool] | None:
        head = data.head
        if head is None:
            return None
        volts = head.get("grid_voltage_v")
        if volts is None or rule.low is None:
            return None
        absent, back = below(volts, rule.low, rule.hysteresis)
        if absent and data.device_type == DeviceKind.INVERTER:
            # An inverter that answers with no grid runs on battery or PV; one serving no load and
            # not discharging may simply be switched off on its grid side.
            absent = (head.get("load_power_w") or 0) > 0 or (head.get("batt_power_w") or 0) < 0
        return absent, back

    def quiet_when(self, rule: AlertRule) -> list[tuple[Limit, ...]] | None:
        return [] if rule.low is None else [(Limit("grid_voltage_v", low=rule.low),)]

    def values(self, rule: AlertRule, data: DeviceData) -> dict[str, Any]:
        head = data.head or {}
        return {"grid_voltage_v": rounded(head.get("grid_voltage_v"), 1), "seen_by": data.device_id,
                "batt_power_w": head.get("batt_power_w"), "load_power_w": head.get("load_power_w")}

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        return f"Grid lost at {subject}" if raised else f"Grid back at {subject}"
