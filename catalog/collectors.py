"""Collectors: the hosts that poll devices. Registration, heartbeats, and who owns an adapter.

A collector is *up* while its heartbeat is younger than ``SOLARMON_COLLECTOR_DOWN_AFTER_S``
and it has not shut down since; otherwise it is *down*, and its devices are not polled by
anybody (another host cannot reach its serial ports, and two hosts must not share a bus).

Who owns an adapter (:class:`Owners`), in this order:

1. its ``collector``, when set (discovery sets it; the admin, the API and YAML can);
2. for a serial adapter, the collector whose ``ports`` list its port, when exactly one does;
3. the only collector that is up; when none is, the only one registered; when none is
   registered yet, the collector asking (``SOLARMON_COLLECTOR``).

Otherwise nobody owns it, and its device's status says to assign it. So a single host needs
no configuration, and adding a second one keeps the first one's devices where they are: when a
collector joins beside exactly one live collector, adapters without a collector are assigned to
that one (:func:`pin_implicit_adapters`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.conf import settings
from django.db import transaction

from catalog.choices import CollectorState
from catalog.models import Adapter, Collector

NETWORK_TRANSPORTS = ("tcp", "rtu_over_tcp")


def solarmon_version() -> str:
    try:
        return version("solarmon")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return ""


def collector_state(collector: Collector, now: datetime) -> str:
    """``up`` while it heartbeats and has not shut down since, else ``down``."""
    beat = collector.last_heartbeat
    if beat is None or (collector.stopped_at is not None and collector.stopped_at >= beat):
        return CollectorState.DOWN
    fresh = now - beat <= timedelta(seconds=settings.SOLARMON_COLLECTOR_DOWN_AFTER_S)
    return CollectorState.UP if fresh else CollectorState.DOWN


def serial_port_of(adapter_type: str, config: Mapping[str, Any]) -> str | None:
    """The serial port an adapter talks on, or None for a network or Bluetooth adapter."""
    from adapters.registry import ADAPTER_TYPES, config_with_defaults

    if adapter_type not in ADAPTER_TYPES or config.get("bt_addresses"):
        return None
    merged = config_with_defaults(adapter_type, config)
    port = merged.get("serial_port")
    if not port or merged.get("transport") in NETWORK_TRANSPORTS:
        return None
    return str(port)


@dataclass(frozen=True)
class Owners:
    """Resolves which collector owns an adapter, from one read of the collectors table."""

    collectors: tuple[Collector, ...]
    now: datetime
    local: str

    @classmethod
    def load(cls, now: datetime, local: str | None = None) -> Owners:
        return cls(tuple(Collector.objects.all()), now, local or settings.SOLARMON_COLLECTOR)

    def is_up(self, name: str) -> bool:
        """Whether ``name`` runs; the collector asking runs, even before it has registered."""
        found = next((c for c in self.collectors if c.name == name), None)
        if found is None:
            return name == self.local
        return collector_state(found, self.now) == CollectorState.UP

    def implicit(self) -> str | None:
        """The owner of adapters nobody was assigned to (rule 3 of the module docstring)."""
        up = [c.name for c in self.collectors if collector_state(c, self.now) == CollectorState.UP]
        if len(up) == 1:
            return up[0]
        if not up and len(self.collectors) == 1:
            return self.collectors[0].name
        if not self.collectors:
            return self.local
        return None

    def owner(self, collector_id: str | None, adapter_type: str, config: Mapping[str, Any]) -> str | None:
        """The collector that polls an adapter with these columns, or None when nobody does."""
        if collector_id:
            return collector_id
        port = serial_port_of(adapter_type, config)
        if port is not None:
            having = [c.name for c in self.collectors if port in (c.ports or [])]
            if len(having) == 1:
                return having[0]
        return self.implicit()

    def owner_of(self, adapter: Adapter) -> str | None:
        return self.owner(adapter.collector_id, adapter.adapter_type_id, adapter.config_json)

    def unowned_reason(self) -> str:
        """Why an adapter without a collector has no owner now (for the device status)."""
        names = ", ".join(c.name for c in self.collectors) or "none"
        return f"no collector owns this adapter: set its collector (collectors: {names})"


@transaction.atomic
def collector_register(name: str, *, host: str, ports: Iterable[str], now: datetime) -> Collector:
    """Record that collector ``name``'s worker started on ``host`` (creating the row if new).

    A collector that joins beside exactly one live collector takes nothing away from it:
    adapters without a collector are assigned to that one first, so they stay where they are.
    """
    from catalog.services import save_entity

    row = Collector.objects.select_for_update().filter(pk=name).first() or Collector(name=name)
    row.host, row.version, row.ports = host[:255], solarmon_version()[:32], sorted(set(ports))
    row.started_at = row.last_heartbeat = now
    row.stopped_at = None
    return save_entity(row)


def pin_implicit_adapters(new: Collector, now: datetime) -> int:
    """Before ``new`` joins: assign adapters without a collector to the only live one, if any.

    Returns how many were assigned. Called by ``save_entity`` for every new collector row.
    """
    others = list(Collector.objects.exclude(pk=new.pk))
    if len(others) != 1 or collector_state(others[0], now) != CollectorState.UP:
        return 0
    return Adapter.objects.filter(collector__isnull=True).update(collector=others[0].pk)


def collector_heartbeat(name: str, *, ports: Iterable[str], now: datetime) -> bool:
    """Refresh ``name``'s heartbeat and ports; False when its row is gone (register again).

    The row's ``updated_at`` moves only when what decides owners may have changed: its ports, a
    shutdown it comes back from, or a beat missed long enough for others to have seen it down.
    Every worker keeps its catalog snapshot while the catalog's fingerprint (which reads
    ``updated_at``) holds, and a routine beat changing it rebuilt every process's device refs and
    system trees every few seconds (two collectors beating every 15 s).
    """
    ports = sorted(set(ports))
    row = Collector.objects.filter(pk=name).values("ports", "stopped_at", "last_heartbeat").first()
    if row is None:
        return False
    missed_s = min(2 * settings.SOLARMON_COLLECTOR_HEARTBEAT_S, settings.SOLARMON_COLLECTOR_DOWN_AFTER_S)
    beat = row["last_heartbeat"]
    changed = (row["ports"] != ports or row["stopped_at"] is not None or beat is None
               or now - beat > timedelta(seconds=missed_s))
    fields: dict[str, Any] = {"last_heartbeat": now}
    if changed:
        fields.update(ports=ports, stopped_at=None, updated_at=now)
    return Collector.objects.filter(pk=name).update(**fields) == 1


def collector_stopped(name: str, now: datetime) -> None:
    """Its worker shut down cleanly: down at once, not after the heartbeat times out."""
    Collector.objects.filter(pk=name).update(stopped_at=now, updated_at=now)


def ensure_collector(name: str) -> Collector:
    """The row of collector ``name``, created (never seen running) when it does not exist yet."""
    from catalog.services import save_entity

    row = Collector.objects.filter(pk=name).first()
    return row if row is not None else save_entity(Collector(name=name))
