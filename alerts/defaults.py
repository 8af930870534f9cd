"""The default rules: what a new installation watches, with limits from ``SOLARMON_ALERT_*``.

The limits suit LFP packs (the common home-storage chemistry): cells between 2.9 and 3.6 V,
no charging below 0 °C, nothing above 50 °C. Hysteresis bands are a few times the noise of
each reading, so a value hovering at a limit neither flaps nor hides a real change.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from alerts.choices import Severity
from telemetry.choices import DeviceKind


def default_rules() -> dict[str, dict[str, Any]]:
    """Default rules by key: the fields of each ``AlertRule``."""
    s = settings
    hold = {"raise_after_s": s.SOLARMON_ALERT_RAISE_AFTER_S, "clear_after_s": s.SOLARMON_ALERT_CLEAR_AFTER_S}
    rules: dict[str, dict[str, Any]] = {
        f"offline-{kind.value.replace('_', '-')}": {
            "name": f"{kind.label} offline", "kind": "device_offline", "device_kind": kind.value,
            "severity": Severity.CRITICAL, "raise_after_s": s.SOLARMON_ALERT_OFFLINE_AFTER_S}
        for kind in DeviceKind
    }
    rules.update({
        "cell-spread": {"name": "Cell voltage spread", "kind": "cell_spread",
                        "high": s.SOLARMON_ALERT_CELL_SPREAD_MV, "hysteresis": 10.0, **hold},
        "cell-voltage": {"name": "Cell voltage limits", "kind": "cell_voltage", "severity": Severity.CRITICAL,
                         "low": s.SOLARMON_ALERT_CELL_MIN_V, "high": s.SOLARMON_ALERT_CELL_MAX_V,
                         "hysteresis": 0.05, **hold},
        "battery-temperature": {"name": "Battery temperature", "kind": "battery_temperature",
                                "severity": Severity.CRITICAL, "low": s.SOLARMON_ALERT_TEMP_MIN_C,
                                "high": s.SOLARMON_ALERT_TEMP_MAX_C, "hysteresis": 3.0, **hold},
        "charge-temperature": {"name": "Charging when cold", "kind": "charge_temperature",
                               "severity": Severity.CRITICAL, "low": s.SOLARMON_ALERT_CHARGE_TEMP_MIN_C,
                               "hysteresis": 2.0, **hold},
        "soc-low": {"name": "Battery low", "kind": "soc_low", "device_kind": DeviceKind.BATTERY_PACK.value,
                    "low": s.SOLARMON_ALERT_SOC_BELOW_PCT, "hysteresis": 5.0, **hold},
        "grid-lost": {"name": "Grid lost", "kind": "grid_lost", "severity": Severity.CRITICAL,
                      "low": s.SOLARMON_ALERT_GRID_LOST_BELOW_V, "hysteresis": 20.0, **hold},
        "counter-glitches": {"name": "Counter glitches", "kind": "counter_glitches",
                             "high": s.SOLARMON_ALERT_GLITCHES_PER_DAY},
        "disk-space": {"name": "Disk space low", "kind": "disk_space_low", "severity": Severity.CRITICAL,
                       "low": s.SOLARMON_ALERT_DISK_FREE_BELOW_PCT, "hysteresis": 2.0},
        # Raised only with several collectors; as long to wait as for a device's offline alert.
        "collector-down": {"name": "Collector down", "kind": "collector_down", "severity": Severity.CRITICAL,
                           "raise_after_s": s.SOLARMON_ALERT_OFFLINE_AFTER_S},
    })
    return rules
