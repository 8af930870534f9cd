"""The original system's config.yaml dialect: its keys, what each becomes here, and why the rest
is not imported (reference: the original's configuration model, every section and key).

A key solarmon has a place for is translated; a key it has none for is reported as a warning
(``path: not imported: why``) and left out; a key that is neither solarmon's nor the original's
is still an error. Tables below say why each key is left out, because that is what the user
reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.registry import ADAPTER_TYPES
from catalog.yamlconfig.fields import Item

CONTROL = "solarmon monitors and does not control inverters"

TOP_LEVEL: dict[str, str] = {
    "smart": f"{CONTROL} (solar forecast, tariff windows, scheduler policy)",
    "logging": "solarmon's log level is the SOLARMON_LOG_LEVEL setting",
    "billing": "solarmon has no billing",
    "battery_data_source": "solarmon stores the readings of every source (inverters and battery "
                           "packs) and keeps them apart",
}
# Sections of other apps, when those apps are not installed.
UNREGISTERED: dict[str, str] = {
    "mqtt": "no MQTT publisher is installed",
    "discovery": "discovery is not installed",
}
POLLING: dict[str, str] = {
    "timeout_ms": "each adapter has its own timeout (its `timeout`, in seconds)",
    "concurrent": "solarmon polls each bus in turn and different buses in parallel",
}
ARRAY: dict[str, str] = {"scheduler": CONTROL}
INVERTER: dict[str, str] = {
    "safety": f"{CONTROL} (battery and temperature limits)",
    "solar": "solarmon keeps no PV array geometry (panel power, tilt, azimuth)",
}
PACK_UNIT: dict[str, str] = {"id": "solarmon names battery units {pack}_b{index}"}

# Adapter keys of the original that solarmon has no use for, whatever the adapter type.
_REGISTER_OVERRIDE = "solarmon's IAMMeter register map is built in (register overrides are not used)"
ADAPTER_DROPPED: dict[str, str] = {
    "register_map_file": "solarmon's register maps are built in",
    "prefer_legacy_registers": "solarmon reads the IAMMeter's current register map",
    "dev_name": "solarmon identifies a pack by its own serial number",
    "jkbms_terminal_id": "not used by solarmon's JK BMS driver",
    "jkbms_fast_polling": "solarmon polls every pack at its adapter's poll interval",
    "bt_adapter": "solarmon uses the host's default Bluetooth adapter",
    "bt_pin": "JK BMS packs are read without pairing",
    "bt_keep_alive": "solarmon reconnects with backoff instead of keeping the link open",
    **{key: _REGISTER_OVERRIDE for key in (
        "voltage_register", "voltage_scale", "current_register", "current_scale", "power_register",
        "energy_register", "energy_scale", "frequency_register", "frequency_scale",
        "power_factor_register", "power_factor_scale")},
}
# What the original's jkbms_protocol becomes (solarmon's jkbms_tcpip `mode`).
JK_PROTOCOL_MODES = {"modbus": "registers", "custom": "trigger"}
PACK_KEYS = ("manufacturer", "model")
SERIAL_KEYS = ("serial_port", "baudrate", "parity", "stopbits", "bytesize")
# The jkbms_tcpip schema's ``timeout`` (adapters.registry): above 0, at most 60 s.
_TIMEOUT = ADAPTER_TYPES["jkbms_tcpip"].config_schema["properties"]["timeout"]
PASSIVE_TIMEOUT_S = (float(_TIMEOUT["exclusiveMinimum"]), float(_TIMEOUT["maximum"]))
DEFAULT_JK_TIMEOUT_S = float(ADAPTER_TYPES["jkbms_tcpip"].default_config["timeout"])


@dataclass
class Translated:
    """An adapter mapping in solarmon's terms.

    ``adapter_type`` is ``None`` when solarmon cannot read the device this way (the reason was
    reported); ``pack`` holds what belongs to the battery pack rather than its adapter.
    """

    adapter_type: str | None
    config: dict[str, Any]
    pack: dict[str, Any] = field(default_factory=dict)


def schema_keys(adapter_type: str) -> set[str]:
    """The config keys solarmon's ``adapter_type`` accepts."""
    return set(ADAPTER_TYPES[adapter_type].config_schema["properties"])


def translate_adapter(item: Item, adapter_type: str | None, config: Mapping[str, Any]) -> Translated:
    """Turn the original's keys in an adapter mapping into solarmon's; report what is left out.

    Keys solarmon's type knows are kept as they are; unknown keys that are not the original's
    either stay in, so the type's schema reports them as errors.
    """
    out = dict(config)
    if adapter_type == "jkbms_passive":
        # The original's older passive JK listener is solarmon's JK driver in passive mode.
        adapter_type = "jkbms_tcpip"
        out.setdefault("bms_broadcasting", True)
    if adapter_type not in ADAPTER_TYPES:
        return Translated(adapter_type, out)
    result = Translated(adapter_type, out)
    for key, reason in ADAPTER_DROPPED.items():
        if key in out and key not in schema_keys(adapter_type):
            del out[key]
            item.problems.warn(item.at(key), reason)
    if ADAPTER_TYPES[adapter_type].device_category == "battery":
        for key in PACK_KEYS:
            if key in out and key not in schema_keys(adapter_type):
                result.pack[key] = out.pop(key)
        if adapter_type.startswith("jkbms"):
            _jk(item, result)
        _not_for_type(item, result, adapter_type)
    return result


def _jk(item: Item, result: Translated) -> None:
    """The original's JK keys: protocol and broadcasting become ``mode``, addresses, listen time."""
    cfg = result.config
    if result.adapter_type == "jkbms_tcpip":
        serial = cfg.get("transport") == "rtu" or cfg.get("connection_type") == "rtu"
        if (serial or "serial_port" in cfg) and "host" not in cfg:
            where = cfg.get("serial_port") or "a serial port"
            item.problems.warn(item.path, "solarmon reads a JK BMS on RS485 through an RS485-to-TCP "
                               f"gateway (host, port) or over Bluetooth; this one is on {where}")
            result.adapter_type = None
            return
        for key in ("transport", "connection_type"):
            cfg.pop(key, None)  # TCP is what this adapter type is
        protocol = cfg.pop("jkbms_protocol", None)
        if protocol in JK_PROTOCOL_MODES:
            cfg.setdefault("mode", JK_PROTOCOL_MODES[protocol])
        elif protocol not in (None, "auto"):
            item.error("jkbms_protocol", f"{protocol!r} is not one of: modbus, custom, auto")
        if cfg.pop("bms_broadcasting", False) is True:
            cfg["mode"] = "passive"
        if "battery_addresses" in cfg:
            cfg.setdefault("addresses", cfg.pop("battery_addresses"))
        if "poll_timeout" in cfg:
            _passive_timeout(item, cfg)
    elif result.adapter_type == "jkbms_ble":
        if "bt_address" in cfg:
            address = cfg.pop("bt_address")
            listed = cfg.setdefault("bt_addresses", [address])
            if isinstance(listed, list) and address not in listed:
                listed.insert(0, address)
        if "bt_timeout" in cfg:
            cfg.setdefault("timeout", cfg.pop("bt_timeout"))
        if "batteries" in cfg:
            # Each Bluetooth address is one battery here; the count goes to the pack.
            result.pack["batteries"] = cfg.pop("batteries")


def _passive_timeout(item: Item, cfg: dict[str, Any]) -> None:
    """``poll_timeout`` (seconds of listening per poll) → ``timeout``, which is how long solarmon's
    passive mode listens for each BMS's frames; outside passive mode it means nothing here."""
    seconds = cfg.pop("poll_timeout")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        item.error("poll_timeout", "expected a number of seconds")
        return
    if cfg.get("mode") != "passive":
        item.problems.warn(item.at("poll_timeout"), "only used when listening passively "
                           "(bms_broadcasting: true); this adapter asks the BMSes itself")
        return
    low, high = PASSIVE_TIMEOUT_S
    value = float(seconds)
    if not low < value <= high:
        clamped = high if value > high else DEFAULT_JK_TIMEOUT_S
        item.problems.note(item.at("poll_timeout"), f"{seconds:g} s is outside solarmon's timeout "
                           f"(above {low:g}, at most {high:g} s); imported as {clamped:g} s")
        value = clamped
    given = cfg.get("timeout")
    if given is not None and given != value:
        item.problems.note(item.at("poll_timeout"), f"timeout {given} replaced by poll_timeout {value:g} s: "
                           "in passive mode solarmon listens for the timeout")
    cfg["timeout"] = value


def _not_for_type(item: Item, result: Translated, adapter_type: str) -> None:
    """The original's keys that mean nothing for this battery adapter type."""
    if result.adapter_type is None:
        return
    cfg = result.config
    known = schema_keys(adapter_type)
    why = {
        "transport": "this adapter type has a single transport",
        "connection_type": "this adapter type has a single transport",
        "unit_id": "not used by this adapter type",
        "jkbms_protocol": "only used by JK BMS adapters over TCP",
        "battery_addresses": "only used by JK BMS adapters over TCP",
        "poll_timeout": "only used by JK BMS adapters over TCP (passive listening)",
        "bt_address": "only used by JK BMS adapters over Bluetooth",
        "bt_addresses": "only used by JK BMS adapters over Bluetooth",
        "bt_timeout": "only used by JK BMS adapters over Bluetooth",
        "host": "this adapter type is not reached over the network",
        "port": "this adapter type is not reached over the network",
        **{key: "this adapter type is not on a serial port" for key in SERIAL_KEYS},
    }
    for key, reason in why.items():
        if key in cfg and key not in known:
            del cfg[key]
            item.problems.warn(item.at(key), reason)
    if "bms_broadcasting" in cfg:
        if cfg.pop("bms_broadcasting") is True:
            item.problems.warn(item.at("bms_broadcasting"), "only JK BMS adapters over TCP listen "
                               "passively")
