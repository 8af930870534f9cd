"""Home Assistant device-based discovery: one retained config per device with all its components.

``<prefix>/device/<object_id>/config`` carries the device (identifiers, name, manufacturer,
model, serial number, ``via_device``), the ``origin``, the shared state topic and
availability, and ``cmps``: one sensor per row of the device's table (cells per unit when
the pack publishes them) plus what extensions add. Availability is ``all`` of the bridge
topic (the client's last will) and the device's own topic (solarmon's device status);
``expire_after`` is a second line of defence should both messages be lost.
"""

from __future__ import annotations

import math
from typing import Any

from integrations.choices import HaKind
from integrations.mqtt.devices import HaDevice, Installation
from integrations.mqtt.extensions import extra_components
from integrations.mqtt.naming import Naming
from integrations.mqtt.sensors import BY_KIND, SensorSpec, cell_sensor
from telemetry.status import STALE_AFTER_INTERVALS

ORIGIN_NAME = "solarmon"


def origin() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        sw = version("solarmon")
    except PackageNotFoundError:
        sw = "0"
    return {"name": ORIGIN_NAME, "sw": sw}


def expire_after_s(dev: HaDevice, intervals: dict[tuple[str, str], float], check_s: float) -> int:
    """Seconds after which Home Assistant drops a value that was not refreshed.

    The device's stale time (``STALE_AFTER_INTERVALS`` poll intervals of its slowest member),
    plus one availability check, so the availability topic normally acts first.
    """
    slowest = max((intervals.get(key, 10.0) for key in dev.polled), default=10.0)
    return math.ceil(STALE_AFTER_INTERVALS * slowest + check_s)


def _template(dev: HaDevice, key: str) -> str:
    if dev.kind == HaKind.BATTERY:
        return f"{{{{ (value_json.units.get('{dev.unit}') or {{}}).get('{key}') }}}}"
    return f"{{{{ value_json.{key} }}}}"


def _cell_template(dev: HaDevice, index: int) -> str:
    return (f"{{{{ ((value_json.units.get('{dev.unit}') or {{}}).get('cells') or [])[{index - 1}]"
            " | default(None) }}")


def _sensor(dev: HaDevice, spec: SensorSpec, naming: Naming, expire: int, template: str) -> dict[str, Any]:
    config: dict[str, Any] = {"p": "sensor", "name": spec.name, "unique_id": naming.unique_id(dev, spec),
                              "value_template": template, "expire_after": expire}
    for option, value in (("device_class", spec.device_class), ("state_class", spec.state_class),
                          ("unit_of_measurement", spec.unit),
                          ("suggested_display_precision", spec.precision)):
        if value is not None:
            config[option] = value
    if spec.is_today:
        config["last_reset_value_template"] = "{{ value_json.last_reset }}"
    return config


def components(dev: HaDevice, naming: Naming, expire: int, has_phases: bool = False) -> dict[str, Any]:
    """The device's components, keyed by component id."""
    specs = list(BY_KIND[dev.kind])
    if dev.kind == HaKind.METER and has_phases:
        from integrations.mqtt.sensors import METER_PHASES

        specs += METER_PHASES
    cmps = {spec.key: _sensor(dev, spec, naming, expire, _template(dev, spec.key)) for spec in specs}
    for index in range(1, dev.cells + 1):
        spec = cell_sensor(index)
        cmps[spec.key] = _sensor(dev, spec, naming, expire, _cell_template(dev, index))
    for extra in extra_components(dev):
        cmps[extra.component_id] = {
            "p": extra.platform, "unique_id": f"{naming.identifier(dev)}_{extra.unique_suffix}",
            "state_topic": f"{naming.device_root(dev)}/{extra.state_suffix}", **extra.config}
        if extra.availability == "bridge":  # overrides the device's shared availability
            cmps[extra.component_id]["availability"] = [{"topic": naming.bridge_topic}]
    return cmps


def device_config(dev: HaDevice, inst: Installation, naming: Naming, intervals: dict[tuple[str, str], float],
                  check_s: float, qos: int, has_phases: bool = False) -> dict[str, Any]:
    """The retained discovery payload of ``dev``."""
    device: dict[str, Any] = {"ids": [naming.identifier(dev)], "name": dev.name, "mf": dev.manufacturer,
                              "mdl": dev.model}
    if dev.serial:
        device["sn"] = dev.serial
    if dev.via is not None:
        parent = inst.by_key().get(dev.via)
        if parent is not None:
            device["via_device"] = naming.identifier(parent)
    return {
        "dev": device,
        "o": origin(),
        "state_topic": naming.state_topic(dev),
        "availability": [{"topic": naming.bridge_topic}, {"topic": naming.availability_topic(dev)}],
        "availability_mode": "all",
        "qos": qos,
        "cmps": components(dev, naming, expire_after_s(dev, intervals, check_s), has_phases),
    }
