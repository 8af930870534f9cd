"""Discovery settings, read from Django settings with defaults (see docs/discovery.md).

Everything is read when a run starts, so tests and the admin's ``override_settings`` apply
without a restart. Stored settings (``discovery_config``, one row, e.g. imported from the
original system's ``discovery:`` section) fill in what no environment variable sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

# jkbms_tcpip comes last: on a serial port it only listens for a JK-PB master's polling.
DEFAULT_PROBE_ORDER = ("pytes", "powdrive", "senergy", "iammeter", "jkbms_tcpip")
# Adapter types that can be found on a serial port (jkbms_ble is BLE).
SERIAL_TYPES = frozenset(DEFAULT_PROBE_ORDER)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, f"SOLARMON_DISCOVERY_{name}", default)


def _stored() -> dict[str, Any]:
    """Values of the stored discovery settings that an environment variable does not override."""
    from discovery.models import DiscoveryConfig

    row = DiscoveryConfig.objects.filter(pk=DiscoveryConfig().pk).first()
    if row is None:
        return {}
    from_env = settings.SOLARMON_DISCOVERY_FROM_ENV
    return {name: value for name in _STORED if (value := getattr(row, name)) is not None
            and f"SOLARMON_DISCOVERY_{name.upper()}" not in from_env}


# Fields of discovery.models.DiscoveryConfig, named as the settings are (interval_s ↔ INTERVAL_S).
_STORED = ("enabled", "scan_on_startup", "interval_s", "probe_order", "probe_timeout_s", "max_failures",
           "retry_base_s", "retry_max_s", "backoff_multiplier")


@dataclass(frozen=True)
class DiscoverySettings:
    """The knobs of one discovery run."""

    require_approval: bool = False
    scan_system_ports: bool = True
    include_globs: tuple[str, ...] = ()
    exclude_globs: tuple[str, ...] = ()
    by_id_dir: str = "/dev/serial/by-id"
    probe_order: tuple[str, ...] = DEFAULT_PROBE_ORDER
    probe_timeout_s: float = 1.0
    port_budget_s: float = 12.0
    baudrates: dict[str, list[int]] = field(default_factory=dict)
    unit_ids: dict[str, list[int]] = field(default_factory=dict)
    max_failures: int = 10
    retry_base_s: float = 300.0
    retry_max_s: float = 6 * 3600.0
    port_backoff_base_s: float = 900.0
    port_backoff_max_s: float = 6 * 3600.0
    interval_s: float = 300.0
    enabled: bool = True
    scan_on_startup: bool = True
    backoff_multiplier: float = 2.0

    @classmethod
    def load(cls) -> DiscoverySettings:
        """The current settings: an environment variable that is set, else the stored discovery
        settings (``discovery_config``, e.g. imported from a config file), else the default."""
        stored = _stored()

        def value(name: str, default: Any) -> Any:
            return stored.get(name.lower(), _setting(name, default))

        order = tuple(t for t in value("PROBE_ORDER", DEFAULT_PROBE_ORDER) if t in SERIAL_TYPES)
        return cls(
            enabled=bool(value("ENABLED", True)),
            scan_on_startup=bool(value("SCAN_ON_STARTUP", True)),
            backoff_multiplier=max(1.0, float(value("BACKOFF_MULTIPLIER", 2.0))),
            require_approval=bool(getattr(settings, "SOLARMON_DISCOVERY_REQUIRE_APPROVAL", False)),
            scan_system_ports=bool(_setting("SCAN_SYSTEM_PORTS", True)),
            include_globs=tuple(_setting("INCLUDE_GLOBS", ())),
            exclude_globs=tuple(_setting("EXCLUDE_GLOBS", ())),
            by_id_dir=str(_setting("BY_ID_DIR", "/dev/serial/by-id")),
            probe_order=order,
            probe_timeout_s=float(value("PROBE_TIMEOUT_S", 1.0)),
            port_budget_s=float(_setting("PORT_BUDGET_S", 12.0)),
            baudrates=dict(_setting("BAUDRATES", {})),
            unit_ids=dict(_setting("UNIT_IDS", {})),
            # Never disable after a single scan: one missed scan is a loose cable or a reboot.
            max_failures=max(2, int(value("MAX_FAILURES", 10))),
            retry_base_s=float(value("RETRY_BASE_S", 300.0)),
            retry_max_s=float(value("RETRY_MAX_S", 6 * 3600.0)),
            port_backoff_base_s=float(_setting("PORT_BACKOFF_BASE_S", 900.0)),
            port_backoff_max_s=float(_setting("PORT_BACKOFF_MAX_S", 6 * 3600.0)),
            interval_s=float(value("INTERVAL_S", 300.0)),
        )

    def retry_delay_s(self, failures: int) -> float:
        """Seconds before a missing device is looked for again after ``failures`` misses."""
        return min(self.retry_base_s * self.backoff_multiplier ** max(failures - 1, 0), self.retry_max_s)

    def port_delay_s(self, strikes: int) -> float:
        """Seconds before a silent or garbage port is probed again after ``strikes`` such results."""
        return min(self.port_backoff_base_s * 2 ** max(strikes - 1, 0), self.port_backoff_max_s)
