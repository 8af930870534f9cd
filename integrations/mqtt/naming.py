"""Topics, identifiers and unique ids: solarmon's scheme, or the original system's (``legacy_ids``).

solarmon's scheme (stable: derived from solarmon's own ids, which never change):

- bridge availability ``<base>/status`` (``online``; ``offline`` as the client's last will);
- device state ``<base>/<kind>/<id>/state`` and availability ``<base>/<kind>/<id>/availability``
  (a battery unit reads its pack's topics);
- discovery ``<prefix>/device/solarmon_<kind>_<id>/config``; device identifier
  ``solarmon_<kind>_<id>``; entity unique id ``solarmon_<kind>_<id>_<key>``.

The original's scheme keeps a migrated installation's Home Assistant entities: unique ids
``<inverter_id>_<key>``, ``pack_<id>_<key>``, ``battery_<pack>_unit_<n>_<key>``,
``meter_<id>_<key>``, ``array_<id>_<key>``, ``battery_array_<id>_<key>``, ``system_<id>_<key>``,
its device identifiers and its state topics (``<base>/<id>/regs``, ``<base>/packs/<id>/state``,
``<base>/meter/<id>/regs``, ``<base>/arrays/<id>/state``, ``<base>/battery_arrays/<id>/state``,
``<base>/systems/<id>/state``).
"""

from __future__ import annotations

import re

from integrations.choices import HaKind
from integrations.mqtt.devices import HaDevice
from integrations.mqtt.sensors import SensorSpec

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def safe_id(value: str) -> str:
    """An id fit for a discovery topic ([A-Za-z0-9_-]); other characters become ``_xHH``."""
    return _UNSAFE.sub(lambda m: f"_x{ord(m.group()):02x}", value)


def legacy_key(value: str) -> str:
    """The original system's id cleaning: lower case, non-alphanumerics to ``_``."""
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in str(value).strip().lower()).strip("_")


class Naming:
    """solarmon's own topics and ids."""

    legacy = False

    def __init__(self, base_topic: str, discovery_prefix: str) -> None:
        self.base = base_topic
        self.prefix = discovery_prefix

    @property
    def bridge_topic(self) -> str:
        return f"{self.base}/status"

    @property
    def birth_topic(self) -> str:
        """Where Home Assistant announces itself (``online`` after it starts)."""
        return f"{self.prefix}/status"

    def device_root(self, dev: HaDevice) -> str:
        if dev.kind == HaKind.BATTERY:
            return f"{self.base}/{HaKind.PACK}/{dev.pack_id}"
        return f"{self.base}/{dev.kind}/{dev.device_id}"

    def state_topic(self, dev: HaDevice) -> str:
        return f"{self.device_root(dev)}/state"

    def availability_topic(self, dev: HaDevice) -> str:
        return f"{self.device_root(dev)}/availability"

    def identifier(self, dev: HaDevice) -> str:
        return f"solarmon_{dev.kind}_{dev.device_id}"

    def object_id(self, dev: HaDevice) -> str:
        return safe_id(f"solarmon_{dev.kind}_{dev.device_id}")

    def discovery_topic(self, dev: HaDevice) -> str:
        return f"{self.prefix}/device/{self.object_id(dev)}/config"

    def unique_id(self, dev: HaDevice, spec: SensorSpec) -> str:
        return f"{self.identifier(dev)}_{spec.key}"


LEGACY_TOPICS: dict[str, str] = {HaKind.INVERTER: "{base}/{id}/regs", HaKind.PACK: "{base}/packs/{id}/state",
                 HaKind.METER: "{base}/meter/{id}/regs", HaKind.ARRAY: "{base}/arrays/{id}/state",
                 HaKind.BATTERY_ARRAY: "{base}/battery_arrays/{id}/state",
                 HaKind.SYSTEM: "{base}/systems/{id}/state"}


class LegacyNaming(Naming):
    """The original system's unique ids, device identifiers and state topics."""

    legacy = True

    def _root_of(self, kind: str, device_id: str) -> str:
        return LEGACY_TOPICS[kind].format(base=self.base, id=device_id).rsplit("/", 1)[0]

    def device_root(self, dev: HaDevice) -> str:
        if dev.kind == HaKind.BATTERY:
            return self._root_of(HaKind.PACK, dev.pack_id)
        return self._root_of(dev.kind, dev.device_id)

    def state_topic(self, dev: HaDevice) -> str:
        if dev.kind == HaKind.BATTERY:
            return LEGACY_TOPICS[HaKind.PACK].format(base=self.base, id=dev.pack_id)
        return LEGACY_TOPICS[dev.kind].format(base=self.base, id=dev.device_id)

    def identifier(self, dev: HaDevice) -> str:
        if dev.kind == HaKind.INVERTER:
            return dev.device_id
        if dev.kind == HaKind.BATTERY:
            return f"battery_unit:{dev.pack_id}:{dev.unit}"
        return f"{dev.kind}:{dev.device_id}"

    def unique_id(self, dev: HaDevice, spec: SensorSpec) -> str:
        key = spec.legacy or spec.key
        if dev.kind == HaKind.INVERTER:
            return f"{legacy_key(dev.device_id)}_{legacy_key(key)}"
        if dev.kind == HaKind.BATTERY:
            return f"battery_{legacy_key(dev.pack_id)}_unit_{dev.unit}_{key}"
        return f"{dev.kind}_{legacy_key(dev.device_id)}_{key}"

    def single_component_topic(self, unique_id: str) -> str:
        """Where the original published this entity's own (single-component) discovery config."""
        return f"{self.prefix}/sensor/{unique_id}/config"


def naming_for(base_topic: str, discovery_prefix: str, legacy: bool) -> Naming:
    return (LegacyNaming if legacy else Naming)(base_topic, discovery_prefix)
