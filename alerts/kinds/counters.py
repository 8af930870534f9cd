"""Counter glitches: a device whose energy counters were rejected too often today."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from alerts.choices import DEVICE_SUBJECTS, Trigger
from alerts.kinds import register
from alerts.kinds.base import Finding, Observation, RollupData, RuleKind, above

if TYPE_CHECKING:
    from alerts.models import AlertRule


@register
class CounterGlitches(RuleKind):
    """More than ``high`` counter readings rejected (backward steps, impossible jumps) in the
    system's current local day, as the rollup counted them. A new day starts the count again,
    so the alert clears at the first rollup of a day with few glitches."""

    kind = "counter_glitches"
    label = "Energy counter glitches"
    help = ("More than “high” energy-counter readings of one device rejected today (backward steps, "
            "impossible jumps), counted by the rollups.")
    unit = "per day"
    triggers = frozenset({Trigger.ROLLUP})
    device_kinds = tuple(DEVICE_SUBJECTS)
    requires = frozenset({"high"})

    def observe_rollup(self, rule: AlertRule, rollup: RollupData) -> Iterable[Finding]:
        if not rollup.is_today or rule.high is None:
            return
        for (device_type, device_id), count in sorted(rollup.glitches.items()):
            if rule.applies_to(device_type, device_id, rollup.system_id):
                bad, clear = above(count, rule.high, rule.hysteresis)
                yield Finding(device_type, device_id, rollup.system_id, Observation(
                    bad, clear, {"glitches": count, "day": rollup.day.isoformat()}))

    def title(self, subject: str, values: dict[str, Any], raised: bool) -> str:
        if raised:
            return f"{values.get('glitches')} counter glitches today on {subject}"
        return f"Counter glitches back to normal on {subject}"
