"""Alerts in Home Assistant: a binary sensor per rule and device, and an event topic.

Built on the MQTT publisher's extension points, so nothing in the publisher knows of alerts:

- ``components_for`` (a provider, ``integrations.mqtt.extensions``) adds one ``binary_sensor``
  (device class ``problem``) per enabled rule to each device it watches: inverters, packs and
  meters for the device rules; the system's device for rules about the system (grid lost), the
  host (disk space) and, when there are several, each collector. Its state topic is
  ``<device root>/alert/<rule>`` (``ON`` while the rule's alert is active, else ``OFF``), and it
  follows solarmon's availability only, so an offline device's alert stays visible.
- ``on_alert_changed`` (an ``alerts.signals.alert_changed`` receiver) publishes the new state at
  once and one JSON message per raise, clear and acknowledgement on ``<base>/alerts/event``.

Unique ids: ``<device identifier>_alert_<rule>`` where ``<rule>`` is a default rule's key with
``_`` for ``-`` (``offline_inverter``, ``cell_spread``, ``disk_space``) or ``rule_<id>`` for a
rule added by the owner, plus ``_<collector>`` for a collector's sensor; e.g.
``solarmon_inverter_powdrive1_alert_offline_inverter``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from alerts.choices import AlertEvent, AlertState, SubjectType
from alerts.models import Alert, AlertRule
from catalog.models import Collector, System
from integrations.choices import HaKind
from integrations.mqtt import runtime
from integrations.mqtt.devices import HaDevice
from integrations.mqtt.extensions import ExtraComponent
from integrations.mqtt.naming import safe_id
from telemetry.choices import DeviceKind

log = logging.getLogger(__name__)

EVENT_SUFFIX = "alerts/event"
ON, OFF = "ON", "OFF"
# How long a look at the rules and active alerts serves the providers (one config pass calls
# them once per device); an alert change in this process starts a new look at once.
SNAPSHOT_S = 2.0

HA_KIND_OF: dict[str, str] = {DeviceKind.INVERTER: HaKind.INVERTER, DeviceKind.BATTERY_PACK: HaKind.PACK,
                              DeviceKind.METER: HaKind.METER}
DEVICE_TYPE_OF = {ha: device for device, ha in HA_KIND_OF.items()}
# Subjects without a Home Assistant device of their own show on the system's.
ON_SYSTEM = (SubjectType.SYSTEM, SubjectType.HOST, SubjectType.COLLECTOR)


def rule_slug(rule: AlertRule) -> str:
    """The rule's part of topics and unique ids: its key (default rules) or its id."""
    return safe_id(rule.key.replace("-", "_")) if rule.key else f"rule_{rule.pk}"


def state_suffix(rule: AlertRule, collector: str = "") -> str:
    return f"alert/{rule_slug(rule)}" + (f"_{safe_id(collector)}" if collector else "")


@dataclass
class Snapshot:
    """Enabled rules, active alerts ((rule, subject type, subject id)) and collector names."""

    rules: list[AlertRule]
    active: set[tuple[int, str, str]]
    collectors: list[str]
    taken_at: float = field(default_factory=time.monotonic)

    def is_active(self, rule: AlertRule, subject_type: str, subject_id: str | None) -> bool:
        if subject_id is None:  # any subject of that type (the host: whichever host evaluated)
            return any(r == rule.pk and t == subject_type for r, t, _ in self.active)
        return (rule.pk, subject_type, subject_id) in self.active


class _Snapshots:
    """The current snapshot of this process, renewed after ``SNAPSHOT_S`` or an alert change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: Snapshot | None = None
        self._generation = 0

    def get(self) -> Snapshot:
        with self._lock:
            current, generation = self._current, self._generation
        if current is not None and time.monotonic() - current.taken_at < SNAPSHOT_S:
            return current
        fresh = Snapshot(
            rules=list(AlertRule.objects.filter(enabled=True).order_by("pk")),
            active=set(Alert.objects.filter(state=AlertState.ACTIVE).values_list("rule_id", "device_type",
                                                                                "device_id")),
            collectors=list(Collector.objects.order_by("name").values_list("name", flat=True)))
        with self._lock:
            if generation == self._generation:  # no change came in while it was read
                self._current = fresh
        return fresh

    def invalidate(self) -> None:
        with self._lock:
            self._current = None
            self._generation += 1


SNAPSHOTS = _Snapshots()


# ---- discovery: the binary sensors of a device -------------------------------------------
def _sensor(rule: AlertRule, snapshot: Snapshot, subject_type: str, subject_id: str | None,
            collector: str = "") -> ExtraComponent:
    suffix = state_suffix(rule, collector)
    component = suffix.replace("/", "_")
    name = f"{rule.name} {collector}" if collector else rule.name
    return ExtraComponent(component_id=component, platform="binary_sensor", unique_suffix=component,
                          state_suffix=suffix, config={"name": name, "device_class": "problem"},
                          state=ON if snapshot.is_active(rule, subject_type, subject_id) else OFF,
                          availability="bridge")


def _sensors(dev: HaDevice, snapshot: Snapshot) -> list[ExtraComponent]:
    out: list[ExtraComponent] = []
    for rule in snapshot.rules:
        subject = rule.rule_kind.subject_type
        if subject is None:
            device_type = DEVICE_TYPE_OF.get(dev.kind)
            if device_type is not None and rule.applies_to(device_type, dev.device_id, dev.system_id):
                out.append(_sensor(rule, snapshot, device_type, dev.device_id))
        elif dev.kind != HaKind.SYSTEM:
            continue
        elif subject == SubjectType.SYSTEM:
            if not rule.system_id or rule.system_id == dev.device_id:
                out.append(_sensor(rule, snapshot, SubjectType.SYSTEM, dev.device_id))
        elif subject == SubjectType.HOST:
            out.append(_sensor(rule, snapshot, SubjectType.HOST, None))
        elif subject == SubjectType.COLLECTOR and len(snapshot.collectors) > 1:
            out += [_sensor(rule, snapshot, SubjectType.COLLECTOR, c, c) for c in snapshot.collectors]
    return out


def components_for(dev: HaDevice) -> list[ExtraComponent]:
    """The alert binary sensors of one Home Assistant device (the MQTT provider)."""
    try:
        return _sensors(dev, SNAPSHOTS.get())
    except Exception:  # a broken rule must not take the device's whole discovery config down
        log.exception("alert sensors of %s %s", dev.kind, dev.device_id)
        return []


# ---- changes: the sensor's new state and an event ------------------------------------------
def sensor_topics(alert: Alert) -> list[tuple[tuple[str, str], str]]:
    """(Home Assistant device key, state suffix) of every binary sensor that shows ``alert``."""
    rule = alert.rule
    if alert.device_type in HA_KIND_OF:
        return [((HA_KIND_OF[alert.device_type], alert.device_id), state_suffix(rule))]
    if alert.device_type == SubjectType.SYSTEM:
        return [((HaKind.SYSTEM, alert.device_id), state_suffix(rule))]
    collector = alert.device_id if alert.device_type == SubjectType.COLLECTOR else ""
    systems = System.objects.order_by("pk").values_list("pk", flat=True)
    return [((HaKind.SYSTEM, system_id), state_suffix(rule, collector)) for system_id in systems]


def sensor_state(alert: Alert) -> str:
    if alert.device_type == SubjectType.HOST:  # one sensor for the rule, whichever host
        active = Alert.objects.filter(rule_id=alert.rule_id, device_type=SubjectType.HOST,
                                      state=AlertState.ACTIVE).exists()
        return ON if active else OFF
    return ON if alert.state == AlertState.ACTIVE else OFF


def event_payload(alert: Alert, event: str) -> dict[str, Any]:
    """One message of the event topic: what happened, and the alert as notifications see it."""
    by = alert.acknowledged_by
    return {"event": event, **alert.summary(), "headline": alert.headline(), "subject": alert.subject_label,
            "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
            "acknowledged_by": by.get_username() if by is not None else None}


def publish_alert_change(alert: Alert, event: str) -> None:
    """Hand the sensor state and the event to this process's publisher (never blocks)."""
    if event != AlertEvent.ACKNOWLEDGED:
        state = sensor_state(alert)
        for key, suffix in sensor_topics(alert):
            runtime.publish_extra(key, suffix, state)
    runtime.publish_event(EVENT_SUFFIX, json.dumps(event_payload(alert, event), separators=(",", ":")))


def on_alert_changed(sender: Any, *, alert: Alert, event: str, **kwargs: Any) -> None:
    """``alert_changed`` receiver. A worker publishes at once; another process (the web server,
    where alerts are acknowledged and rules disabled) queues a task for a worker's publisher."""
    SNAPSHOTS.invalidate()
    if runtime.current() is not None:
        publish_alert_change(alert, event)
    elif _publishing():
        from integrations.tasks import publish_alert_change as task

        task.delay(alert.pk, event)


def _publishing() -> bool:
    from integrations.mqtt.config import effective_config

    try:
        return effective_config().enabled
    except ValueError:  # a malformed SOLARMON_MQTT_URL: the publisher reports it
        return False
