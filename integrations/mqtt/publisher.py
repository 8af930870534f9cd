"""The publisher of one worker process: a bounded queue in, one thread, one broker connection.

Polling threads only ``submit()`` small events (never blocking: when the queue is full the
event is dropped and counted). The publisher thread turns events into messages: the
device's JSON state, its availability, the system's live totals a moment later (after the
poll round has derived them). Every retained message it owns is kept in ``image`` (topic →
latest payload), so after a reconnect, or Home Assistant's birth message, it republishes
the latest state of everything and never a stale one. While the broker is away, messages
are not sent (and counted as dropped); the image keeps only the newest.

Every ``check_s`` it also re-reads device status (a device that stalls without any poll
event still turns unavailable), the catalog (new devices get a config; deleted ones have
theirs removed with an empty retained payload), and the settings.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections, connection
from django.utils import timezone

from integrations.choices import Availability, HaKind
from integrations.models import MqttClientStatus
from integrations.mqtt import devices as ha
from integrations.mqtt.config import MqttConfig, effective_config
from integrations.mqtt.discovery import ORIGIN_NAME, device_config
from integrations.mqtt.energy import EnergyGuard, Totals, lifetime_totals, local_midnight, today_energy_kwh
from integrations.mqtt.link import Link
from integrations.mqtt.naming import LegacyNaming, Naming, naming_for
from integrations.mqtt.sensors import BY_KIND
from integrations.mqtt.states import device_state
from telemetry.choices import DeviceState
from telemetry.models import DeviceStatus
from telemetry.status import effective_state

log = logging.getLogger(__name__)

GROUP_KINDS = (HaKind.ARRAY, HaKind.BATTERY_ARRAY, HaKind.SYSTEM)
GROUP_DELAY_S = 1.0  # wait for the poll round to derive array and system totals
ROLLUP_CACHE_S = 60.0  # rollups change every quarter hour
TODAY_CACHE_S = 10.0
STATUS_EVERY_S = 3.0
MARKS_EVERY_S = 2.0
CATALOG_EVERY_CHECKS = 6


@dataclass(frozen=True)
class Event:
    """Something the publisher thread should act on."""

    kind: str  # samples | status | extra | message | connected | sync
    args: tuple[Any, ...] = ()


@dataclass
class Counters:
    published: int = 0
    dropped: int = 0
    last_error: str = ""
    last_error_at: datetime | None = None
    connected_since: datetime | None = None


@dataclass
class _Cached:
    at: float
    value: Any


@dataclass
class World:
    """What the publisher knows of the installation."""

    installations: dict[str, ha.Installation] = field(default_factory=dict)
    devices: dict[ha.Key, ha.HaDevice] = field(default_factory=dict)
    statuses: dict[tuple[str, str], DeviceStatus] = field(default_factory=dict)
    phases: set[str] = field(default_factory=set)  # meters that report per-phase values

    def intervals(self) -> dict[tuple[str, str], float]:
        return {key: max(s.poll_interval_s, 1.0) for key, s in self.statuses.items()}

    def affected(self, device_type: str, device_id: str) -> list[ha.HaDevice]:
        return [d for d in self.devices.values() if (device_type, device_id) in d.polled]


class Publisher:
    """The per-process MQTT publisher (see the module docstring)."""

    def __init__(self, cfg: MqttConfig | None = None, *, queue_size: int = 1000, check_s: float = 5.0,
                 reconnect_max_s: float = 60.0, keepalive_s: int = 30) -> None:
        self.cfg = cfg
        self.check_s = check_s
        self.reconnect_max_s = reconnect_max_s
        self.keepalive_s = keepalive_s
        self.events: queue.Queue[Event] = queue.Queue(maxsize=queue_size)
        self.image: dict[str, str] = {}
        self.counters = Counters()
        self.world = World()
        self.guard = EnergyGuard()
        self.availability: dict[ha.Key, str] = {}
        self.link: Link | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dirty_groups: dict[str, tuple[float, float]] = {}  # system → (first, last) event time
        self._rollups: dict[str, _Cached] = {}
        self._today: dict[str, _Cached] = {}
        self._status_written = 0.0
        self._marks_saved = 0.0
        self._status_sig: tuple[Any, ...] = ()
        self._checks = 0
        self._resync = threading.Event()
        self.started_at = timezone.now()
        self.client_id = ""

    # ---- producers (any thread; never block) ------------------------------------------
    def submit(self, event: Event) -> bool:
        try:
            self.events.put_nowait(event)
            return True
        except queue.Full:
            self.counters.dropped += 1
            return False

    # ---- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def naming(self) -> Naming:
        assert self.cfg is not None
        return naming_for(self.cfg.base_topic, self.cfg.discovery_prefix, self.cfg.legacy_ids)

    def _run(self) -> None:
        try:
            self._setup()
            next_check = time.monotonic()
            while not self._stop.is_set():
                self._drain(timeout=0.2)
                if self._resync.is_set() and self.link is not None and self.link.connected.is_set():
                    self._resync.clear()
                    self.republish()
                self._publish_due_groups()
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.check_s
                    self._safely(self.check)
                self._write_status()
        finally:
            self._safely(self._shutdown)
            connection.close()

    def _setup(self) -> None:
        close_old_connections()
        if self.cfg is None:
            try:
                self.cfg = effective_config()
            except ValueError as exc:
                self._error(str(exc))
                return
        if self.cfg.enabled:
            self._prepare()
        self._start_link()

    def _prepare(self) -> None:
        self.guard = EnergyGuard.load()
        self._safely(self.sync_catalog)
        self._safely(self._refresh_statuses)

    def _shutdown(self) -> None:
        self._save_marks(force=True)
        if self.link is not None:
            self.link.stop()
        self.link = None
        self._write_status(force=True)

    def _start_link(self) -> None:
        assert self.cfg is not None
        if not self.cfg.enabled:
            return
        naming = self.naming
        subscriptions = [naming.birth_topic]
        if self.cfg.discovery_enabled:
            subscriptions.append(f"{naming.prefix}/device/+/config")
            if isinstance(naming, LegacyNaming):
                subscriptions.append(f"{naming.prefix}/sensor/+/config")
        self.link = Link(self.cfg, naming.bridge_topic, subscriptions, on_connected=self._on_connected,
                         on_message=self._on_message, on_error=self._error,
                         reconnect_max_s=self.reconnect_max_s, keepalive_s=self.keepalive_s)
        self.client_id = self.link.client_id
        self.link.start()

    def _on_connected(self) -> None:
        self.counters.connected_since = timezone.now()
        self._resync.set()

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        self.submit(Event("message", (topic, payload)))

    def _error(self, message: str) -> None:
        self.counters.last_error = message[:2000]
        self.counters.last_error_at = timezone.now()
        log.warning("MQTT: %s", message)

    def _safely(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # the publisher must outlive any one bad event
            log.exception("MQTT publisher: %s failed", getattr(fn, "__name__", fn))
            self._error(f"{type(exc).__name__}: {exc}")
            return None

    # ---- events -------------------------------------------------------------------------
    def _drain(self, timeout: float) -> None:
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        close_old_connections()
        handled = 0
        while True:
            self._safely(self.handle, event)
            handled += 1
            if handled >= 500:
                return
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return

    def handle(self, event: Event, now: datetime | None = None) -> None:
        """Act on one event (the thread calls this; tests may call it directly)."""
        now = now or timezone.now()
        if self.cfg is None or not self.cfg.enabled:
            return
        if event.kind == "samples":
            device_type, device_id, system_id = event.args[:3]
            self._on_samples(device_type, device_id, system_id, now)
        elif event.kind == "status":
            self._refresh_statuses((event.args,))
            self.publish_availability(now)
        elif event.kind == "extra":
            key, suffix, payload = event.args
            dev = self.world.devices.get(key)
            if dev is not None:
                self._send(f"{self.naming.device_root(dev)}/{suffix}", payload)
        elif event.kind == "message":
            self._on_broker_message(*event.args)
        elif event.kind == "sync":
            self.sync_catalog()

    def _on_samples(self, device_type: str, device_id: str, system_id: str, now: datetime) -> None:
        if system_id not in self.world.installations:
            self.sync_catalog()
        self._refresh_statuses(((device_type, device_id),))
        kind = {"inverter": HaKind.INVERTER, "meter": HaKind.METER, "battery_pack": HaKind.PACK}[device_type]
        dev = self.world.devices.get((kind, device_id))
        if dev is not None:
            if dev.kind == HaKind.METER and dev.device_id not in self.world.phases:
                self._check_phases(dev)
            self.publish_state(dev, now)
        self.publish_availability(now)
        first, _ = self._dirty_groups.get(system_id, (time.monotonic(), 0.0))
        self._dirty_groups[system_id] = (first, time.monotonic())

    def _publish_due_groups(self, force: bool = False) -> None:
        now_m = time.monotonic()
        for system_id, (first, last) in list(self._dirty_groups.items()):
            if force or now_m - last >= GROUP_DELAY_S or now_m - first >= 5 * GROUP_DELAY_S:
                self._dirty_groups.pop(system_id)
                self._safely(self.publish_groups, system_id, timezone.now())

    def publish_groups(self, system_id: str, now: datetime) -> None:
        """Publish the arrays, battery arrays and the system of ``system_id``."""
        inst = self.world.installations.get(system_id)
        if inst is None:
            return
        for dev in inst.devices:
            if dev.kind in GROUP_KINDS:
                self.publish_state(dev, now)
        self.guard.save()

    # ---- building messages -----------------------------------------------------------
    def invalidate_energy(self) -> None:
        """Forget cached rollup figures (the next state reads them again)."""
        self._rollups.clear()
        self._today.clear()

    def _rollups_for(self, system_id: str) -> Totals:
        cached = self._rollups.get(system_id)
        if cached is None or time.monotonic() - cached.at > ROLLUP_CACHE_S:
            cached = self._rollups[system_id] = _Cached(time.monotonic(), lifetime_totals(system_id))
        return dict(cached.value)

    def _today_for(self, inst: ha.Installation, now: datetime) -> dict[str, float | None]:
        day = local_midnight(now, inst.timezone).date()
        cached = self._today.get(inst.system_id)
        if cached is None or time.monotonic() - cached.at > TODAY_CACHE_S or cached.value[0] != day:
            cached = self._today[inst.system_id] = _Cached(time.monotonic(),
                                                           (day, today_energy_kwh(inst.system_id, day, now)))
        return dict(cached.value[1])

    def state_of(self, dev: ha.HaDevice, now: datetime) -> dict[str, Any] | None:
        inst = self.world.installations[dev.system_id]
        today = self._today_for(inst, now) if dev.kind == HaKind.SYSTEM else {}
        return device_state(dev, inst, self._rollups_for(dev.system_id), today, self.world.intervals(),
                            self.guard, now)

    def publish_state(self, dev: ha.HaDevice, now: datetime) -> None:
        state = self.state_of(dev, now)
        if state is not None:
            self._send(self.naming.state_topic(dev), json.dumps(state, separators=(",", ":")))
            self._save_marks()

    def _save_marks(self, force: bool = False) -> None:
        """Persist raised energy marks, at most every ``MARKS_EVERY_S`` (a restart resumes from them)."""
        if force or time.monotonic() - self._marks_saved >= MARKS_EVERY_S:
            self._marks_saved = time.monotonic()
            self.guard.save()

    def device_online(self, dev: ha.HaDevice, now: datetime) -> bool:
        """Online while solarmon's own status says so (a group: while any member is)."""
        return any(effective_state(self.world.statuses.get(key), now) == DeviceState.ONLINE
                   for key in dev.polled)

    def publish_availability(self, now: datetime, force: bool = False) -> None:
        """Publish the availability of every device whose state changed (all of them if ``force``)."""
        naming = self.naming
        for dev in self.world.devices.values():
            if dev.kind == HaKind.BATTERY:
                continue  # it shares its pack's availability topic
            value = Availability.ONLINE if self.device_online(dev, now) else Availability.OFFLINE
            if force or self.availability.get(dev.key) != value:
                self.availability[dev.key] = value
                self._send(naming.availability_topic(dev), value)

    def configs(self) -> dict[str, str]:
        """Every device's discovery topic and payload."""
        assert self.cfg is not None
        out: dict[str, str] = {}
        intervals = self.world.intervals()
        naming = self.naming
        for inst in self.world.installations.values():
            for dev in inst.devices:
                payload = device_config(dev, inst, naming, intervals, self.check_s, self.cfg.qos,
                                        has_phases=dev.device_id in self.world.phases)
                out[naming.discovery_topic(dev)] = json.dumps(payload, separators=(",", ":"))
        return out

    def _check_phases(self, dev: ha.HaDevice) -> None:
        from telemetry.models import MeterSample

        row = MeterSample.objects.filter(meter_id=dev.device_id).order_by("-ts").first()
        if row is not None and row.voltage_phase_b is not None:
            self.world.phases.add(dev.device_id)
            self.publish_configs()

    # ---- sending ----------------------------------------------------------------------
    def _send(self, topic: str, payload: str, retain: bool | None = None) -> None:
        """Send one message now if connected; retained messages also go into the image."""
        assert self.cfg is not None
        retain = self.cfg.retain if retain is None else retain
        if retain or topic.startswith(f"{self.cfg.discovery_prefix}/"):
            if payload:
                self.image[topic] = payload
            else:
                self.image.pop(topic, None)
        sent = self.link is not None and self.link.publish(topic, payload, retain, self.cfg.qos)
        if sent:
            self.counters.published += 1
        else:
            self.counters.dropped += 1

    def _send_config(self, topic: str, payload: str) -> None:
        self._send(topic, payload, retain=True)

    def publish_configs(self) -> None:
        assert self.cfg is not None
        if not self.cfg.discovery_enabled:
            return
        for topic, payload in self.configs().items():
            if self.image.get(topic) != payload:
                self._send_config(topic, payload)

    def republish(self) -> None:
        """After a (re)connect: discovery configs, then the latest states, then availability."""
        assert self.cfg is not None
        now = timezone.now()
        self._refresh_statuses()
        prefix = f"{self.cfg.discovery_prefix}/"
        if self.cfg.discovery_enabled:
            for topic, payload in self.configs().items():
                self._send_config(topic, payload)
        for topic, payload in list(self.image.items()):
            if not topic.startswith(prefix) and not topic.endswith("/availability"):
                self._send(topic, payload)
        if not any(t.endswith("/state") or t.endswith("/regs") for t in self.image):
            for dev in self.world.devices.values():
                if dev.kind != HaKind.BATTERY:
                    self._safely(self.publish_state, dev, now)
        self.publish_availability(now, force=True)
        self.guard.save()

    # ---- periodic checks ------------------------------------------------------------------
    def check(self, now: datetime | None = None) -> None:
        """Settings, catalog (every few checks), device status and availability, energy marks."""
        now = now or timezone.now()
        close_old_connections()
        self._check_config()
        if self.cfg is None or not self.cfg.enabled:
            return  # publishing is off: only watch the settings
        self._checks += 1
        if self._checks % CATALOG_EVERY_CHECKS == 0:
            self.sync_catalog()
        self._refresh_statuses()
        self.publish_availability(now)
        self.guard.save()

    def _check_config(self) -> None:
        try:
            fresh = effective_config()
        except ValueError as exc:
            self._error(str(exc))
            return
        if fresh == self.cfg:
            return
        log.info("MQTT settings changed: reconnecting")
        if self.link is not None:
            self.link.stop()
            self.link = None
        self.cfg = fresh
        self.image.clear()
        self.availability.clear()
        if fresh.enabled:
            self._prepare()
        self._start_link()

    def _refresh_statuses(self, keys: Any = None) -> None:
        rows = DeviceStatus.objects.all()
        if keys:
            rows = rows.filter(device_id__in={k[1] for k in keys})
        for row in rows:
            self.world.statuses[(row.device_type, row.device_id)] = row

    def sync_catalog(self) -> None:
        """Reload the devices; publish configs of new or changed ones, remove those of deleted ones."""
        old = dict(self.world.devices)
        installations = {inst.system_id: inst for inst in ha.all_installations()}
        self.world.installations = installations
        self.world.devices = {d.key: d for inst in installations.values() for d in inst.devices}
        if self.cfg is None:
            return
        gone = [dev for key, dev in old.items() if key not in self.world.devices]
        for dev in gone:
            self.remove_device(dev)
        if self.cfg.discovery_enabled and self.link is not None:
            self.publish_configs()
        if gone:
            self.guard.forget([f"{d.kind}:{d.device_id}:" for d in gone])

    def remove_device(self, dev: ha.HaDevice) -> None:
        """Empty retained payloads on the device's discovery, state and availability topics."""
        naming = self.naming
        self._send_config(naming.discovery_topic(dev), "")
        if dev.kind != HaKind.BATTERY:
            self._send(naming.state_topic(dev), "", retain=True)
            self._send(naming.availability_topic(dev), "", retain=True)
        self.availability.pop(dev.key, None)

    # ---- messages from the broker -------------------------------------------------------
    def _on_broker_message(self, topic: str, payload: bytes) -> None:
        naming = self.naming
        if topic == naming.birth_topic:
            if payload.decode(errors="replace").strip() == "online":
                self.republish()
            return
        if not payload:
            return
        if topic.startswith(f"{naming.prefix}/device/"):
            self._clear_if_orphan(topic, payload)
        elif isinstance(naming, LegacyNaming) and topic.startswith(f"{naming.prefix}/sensor/"):
            self._migrate_single_component(naming, topic, payload)

    def _clear_if_orphan(self, topic: str, payload: bytes) -> None:
        """A retained config of ours for a device that no longer exists (deleted while we were down)."""
        assert self.cfg is not None
        naming = self.naming
        # Compared with the devices known now, not with what was sent: right after connecting the
        # broker hands back our own retained configs before they are republished.
        if topic in {naming.discovery_topic(dev) for dev in self.world.devices.values()}:
            return
        try:
            config = json.loads(payload)
        except ValueError:
            return
        origin = config.get("o") or config.get("origin") or {}
        state_topic = str(config.get("state_topic") or config.get("stat_t") or "")
        if origin.get("name") == ORIGIN_NAME and state_topic.startswith(f"{self.cfg.base_topic}/"):
            self._send_config(topic, "")

    def _migrate_single_component(self, naming: LegacyNaming, topic: str, payload: bytes) -> None:
        """Hand an original single-component entity over to our device config (Home Assistant's
        documented migration: ``migrate_discovery``, the device config, then an empty payload)."""
        object_id = topic.split("/")[-2]
        owner = self._legacy_owner(naming).get(object_id)
        if owner is None:
            return
        try:
            if json.loads(payload).get("migrate_discovery"):
                return
        except (ValueError, AttributeError):
            return
        self._send_config(topic, json.dumps({"migrate_discovery": True}))
        configs = self.configs()
        device_topic = naming.discovery_topic(owner)
        if device_topic in configs:
            self._send_config(device_topic, configs[device_topic])
        self._send_config(topic, "")

    def _legacy_owner(self, naming: LegacyNaming) -> dict[str, ha.HaDevice]:
        out: dict[str, ha.HaDevice] = {}
        for dev in self.world.devices.values():
            for spec in BY_KIND[dev.kind]:
                out[naming.unique_id(dev, spec)] = dev
        return out

    # ---- status row for the web process --------------------------------------------------
    def _write_status(self, force: bool = False) -> None:
        if self.cfg is None or not self.client_id:
            return
        link = self.link
        connected = bool(link and link.connected.is_set())
        sig = (connected, self.counters.published, self.counters.dropped, self.counters.last_error)
        now_m = time.monotonic()
        if not force and (now_m - self._status_written < STATUS_EVERY_S or
                          (sig == self._status_sig and now_m - self._status_written < 60)):
            return
        self._status_written, self._status_sig = now_m, sig
        self._safely(_save_status, self.client_id, {
            "host": socket.gethostname(), "pid": os.getpid(), "broker": self.cfg.broker,
            "connected": connected, "protocol": link.protocol_name if link else "",
            "published": self.counters.published, "dropped": self.counters.dropped,
            "last_error": self.counters.last_error, "last_error_at": self.counters.last_error_at,
            "connected_since": self.counters.connected_since if connected else None,
            "started_at": self.started_at, "updated_at": timezone.now()})


def _save_status(client_id: str, values: dict[str, Any]) -> None:
    MqttClientStatus.objects.update_or_create(client_id=client_id, defaults=values)


def stale_statuses(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete status rows of processes gone for long; returns how many."""
    deleted, _ = MqttClientStatus.objects.filter(updated_at__lt=timezone.now() - older_than).delete()
    return deleted
