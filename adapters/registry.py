"""The adapter-type registry: name → category, transports, config schema, defaults, driver.

``adapter_base`` rows are synced from here on ``migrate``; nothing else writes them.
Drivers and simulators are named by dotted path and imported on first use, so the
registry can be read (by the admin, the API, the YAML importer) without loading
pymodbus or bleak.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsonschema

from adapters.errors import ConfigError

if TYPE_CHECKING:
    from adapters.base import Driver

SCHEMA_VERSION = "1"

# "title" and "description" label the admin's form fields; they do not change validation.
_SERIAL_PROPS: dict[str, Any] = {
    "serial_port": {"type": "string", "minLength": 1, "title": "Serial port",
                    "description": "Serial device path, preferably /dev/serial/by-id/... (that name "
                    "follows the USB adapter; ttyUSB numbers change between boots)"},
    "baudrate": {"type": "integer", "enum": [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200],
                 "title": "Baud rate", "description": "Line speed, as set on the device"},
    "parity": {"type": "string", "enum": ["N", "E", "O"], "title": "Parity",
               "description": "N: none, E: even, O: odd"},
    "stopbits": {"type": "integer", "enum": [1, 2], "title": "Stop bits"},
    "bytesize": {"type": "integer", "enum": [7, 8], "title": "Data bits"},
}
_NET_PROPS: dict[str, Any] = {
    "host": {"type": "string", "minLength": 1, "title": "Host", "description": "Host name or IP address"},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "title": "TCP port"},
}


def _only_for(props: dict[str, Any], *transports: str) -> dict[str, Any]:
    """``props`` annotated with the transports that use them (``x-transports``), so a form
    shows a field only for those. An annotation: validation ignores it."""
    return {key: {**prop, "x-transports": list(transports)} for key, prop in props.items()}

_COMMON_PROPS: dict[str, Any] = {
    "type": {"type": "string", "description": "Adapter type; must match the adapter's type"},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 60,
                "description": "Seconds to wait for one reply"},
    "poll_interval_s": {"type": "number", "minimum": 1, "maximum": 3600,
                        "description": "Seconds between polls of this device"},
}
_MODBUS_PROPS: dict[str, Any] = {
    "transport": {"type": "string", "enum": ["rtu", "tcp", "rtu_over_tcp"],
                  "description": "rtu: serial RS485; tcp: Modbus TCP; rtu_over_tcp: RTU frames "
                  "through a transparent TCP gateway"},
    "unit_id": {"type": "integer", "minimum": 0, "maximum": 247, "title": "Modbus unit id",
                "description": "The device's Modbus address (slave id), usually 1"},
    "gap_bridge": {"type": "integer", "minimum": 0, "maximum": 64,
                   "description": "Read across holes of up to this many registers"},
    "max_block": {"type": "integer", "minimum": 1, "maximum": 125,
                  "description": "Largest number of registers in one request"},
    **_only_for(_SERIAL_PROPS, "rtu"),
    **_only_for(_NET_PROPS, "tcp", "rtu_over_tcp"),
}
# Battery packs: how often their unit and cell rows are stored (telemetry.ingest).
_CELL_PROPS: dict[str, Any] = {
    "cell_interval_s": {"type": "integer", "minimum": 0, "maximum": 3600, "title": "Cell row interval (s)",
                        "description": "Seconds between stored unit and cell rows; each row keeps the "
                        "interval's lowest and highest cell reading. 0 = a row per reading. Default: "
                        "SOLARMON_CELL_INTERVAL_S"},
}
# A serial transport needs a port; a network transport needs a host.
_TRANSPORT_RULES: list[dict[str, Any]] = [
    {"if": {"properties": {"transport": {"const": "rtu"}}, "required": ["transport"]},
     "then": {"required": ["serial_port"]}},
    {"if": {"properties": {"transport": {"enum": ["tcp", "rtu_over_tcp"]}}, "required": ["transport"]},
     "then": {"required": ["host"]}},
]


# Labels of config keys, the same in every type that has the key; a property's own "title" or
# "description" wins. Annotations only: validation ignores them.
_LABELS: dict[str, tuple[str, str]] = {
    "type": ("Adapter type", ""),
    "timeout": ("Timeout (s)", ""),
    "poll_interval_s": ("Poll interval (s)", ""),
    "transport": ("Transport", ""),
    "stopbits": ("Stop bits", "Usually 1"),
    "bytesize": ("Data bits", "Usually 8"),
    "port": ("TCP port", "502 for Modbus TCP; the gateway's port for RS485-to-TCP gateways"),
    "gap_bridge": ("Bridge gaps of (registers)", ""),
    "max_block": ("Registers per request", ""),
    "profile": ("Register profile", ""),
    "pv_power_scale": ("PV power scale", ""),
    "hv_energy_scale": ("HV energy scale", ""),
    "rated_power_w": ("Rated power (W)", "Nameplate power; bounds plausible energy jumps"),
    "battery_power_sign": ("Battery power sign", ""),
    "grid_power_sign": ("Grid power sign", ""),
    "batteries": ("Battery units", "How many battery units (modules) the pack has"),
    "cells_per_battery": ("Cells per battery unit", "Cells in series in each unit, e.g. 16 for a 48 V "
                          "LFP unit"),
    "capacity_ah": ("Capacity (Ah)", "Rated capacity of one battery unit"),
    "addresses": ("BMS addresses", "RS485 addresses of the BMSes on the gateway's bus (1-15), "
                  "one per battery unit; empty = 1 to the number of units"),
    "mode": ("Gateway mode", ""),
    "request_gap_ms": ("Pause between requests (ms)", "Silence the BMSes need between two requests"),
    "cell_interval_s": ("Cell interval (s)", ""),
    "passive_window_ms": ("Listening window (ms)", "How long to listen to a master's polling in "
                          "passive mode"),
    "bt_addresses": ("Bluetooth addresses", "One MAC address (AA:BB:CC:DD:EE:FF) per battery unit"),
    "layout": ("Frame layout", "24s for JK-B hardware before version 11, 32s from 11 on; auto chooses by "
               "the hardware version the BMS reports"),
    "reconnect_backoff_s": ("Reconnect pause (s)", "First pause before reconnecting after a dropped link; "
                            "it doubles on each failure"),
    "model": ("Meter model", "WEM3080: single phase; WEM3080T: three phase"),
}


def _labelled(props: dict[str, Any]) -> dict[str, Any]:
    labelled = {}
    for key, prop in props.items():
        title, description = _LABELS.get(key, ("", ""))
        labelled[key] = {**({"title": title} if title else {}),
                         **({"description": description} if description else {}), **prop}
    return labelled


def _schema(props: dict[str, Any], required: list[str], rules: list[dict[str, Any]] | None = None
            ) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": _labelled({**_COMMON_PROPS, **props}),
        "required": required,
        "additionalProperties": False,
    }
    if rules:
        schema["allOf"] = rules
    return schema


@dataclass(frozen=True)
class AdapterTypeSpec:
    """Everything solarmon knows about one adapter type."""

    adapter_type: str
    device_category: str  # inverter | battery | meter
    name: str
    description: str
    supported_transports: tuple[str, ...]
    config_schema: dict[str, Any]
    default_config: dict[str, Any]
    driver_path: str
    simulator_path: str = ""
    default_poll_interval_s: float = 10.0
    version: str = SCHEMA_VERSION
    tags: tuple[str, ...] = field(default_factory=tuple)

    def driver_class(self) -> type[Driver]:
        module_name, _, attr = self.driver_path.partition(":")
        cls: type[Driver] = getattr(importlib.import_module(module_name), attr)
        return cls


ADAPTER_TYPES: dict[str, AdapterTypeSpec] = {
    spec.adapter_type: spec
    for spec in (
        AdapterTypeSpec(
            adapter_type="powdrive",
            device_category="inverter",
            name="Powdrive Inverter Adapter",
            description="Powdrive / Deye-family hybrid inverters over Modbus RTU, Modbus TCP or "
            "an RS485 gateway. The register profile follows device-type register 0.",
            supported_transports=("rtu", "tcp", "rtu_over_tcp"),
            config_schema=_schema(
                {**_MODBUS_PROPS,
                 "profile": {"type": "string",
                             "enum": ["auto", "single-phase", "three-phase", "three-phase-hv"],
                             "description": "Register profile; auto reads register 0"},
                 "pv_power_scale": {"type": "number", "enum": [1, 10],
                                    "description": "PV power multiplier: 10 where a model counts PV power "
                                    "in 10 W (single-phase 16 kW units, some three-phase units)"},
                 "hv_energy_scale": {"type": "number", "enum": [0.1, 1],
                                     "description": "kWh per count of the HV energy counters"},
                 "rated_power_w": {"type": "number", "minimum": 0, "title": "Rated power (W)",
                                   "description": "Nameplate power; bounds plausible energy jumps"}},
                ["transport"], _TRANSPORT_RULES),
            default_config={"transport": "rtu", "baudrate": 9600, "parity": "N", "stopbits": 1,
                            "bytesize": 8, "unit_id": 1, "timeout": 2.0, "port": 502,
                            "profile": "auto", "gap_bridge": 16, "max_block": 125},
            driver_path="adapters.powdrive.driver:PowdriveDriver",
            simulator_path="adapters.simulators.modbus:PowdriveSimulator",
            default_poll_interval_s=5.0,
        ),
        AdapterTypeSpec(
            adapter_type="senergy",
            device_category="inverter",
            name="Senergy Inverter Adapter",
            description="Senergy SE-series hybrid inverters over Modbus RTU or TCP.",
            supported_transports=("rtu", "tcp", "rtu_over_tcp"),
            config_schema=_schema(
                {**_MODBUS_PROPS,
                 "battery_power_sign": {"type": "integer", "enum": [1, -1],
                                        "description": "Multiply the battery power register by this "
                                        "to get + = charging"},
                 "grid_power_sign": {"type": "integer", "enum": [1, -1],
                                     "description": "Multiply the grid power registers by this "
                                     "to get + = import"},
                 "rated_power_w": {"type": "number", "minimum": 0}},
                ["transport"], _TRANSPORT_RULES),
            default_config={"transport": "rtu", "baudrate": 9600, "parity": "N", "stopbits": 1,
                            "bytesize": 8, "unit_id": 1, "timeout": 2.0, "port": 502,
                            "gap_bridge": 16, "max_block": 125},
            driver_path="adapters.senergy.driver:SenergyDriver",
            simulator_path="adapters.simulators.modbus:SenergySimulator",
            default_poll_interval_s=5.0,
        ),
        AdapterTypeSpec(
            adapter_type="pytes",
            device_category="battery",
            name="Pytes Battery Adapter",
            description="Pytes / Pylontech low-voltage battery packs through the console serial port.",
            supported_transports=("serial",),
            config_schema=_schema(
                {**_SERIAL_PROPS, **_CELL_PROPS,
                 "batteries": {"type": "integer", "minimum": 1, "maximum": 16},
                 "cells_per_battery": {"type": "integer", "minimum": 1, "maximum": 32},
                 "capacity_ah": {"type": "number", "exclusiveMinimum": 0}},
                ["serial_port"]),
            default_config={"baudrate": 115200, "parity": "N", "stopbits": 1, "bytesize": 8,
                            "timeout": 3.0, "batteries": 1, "cells_per_battery": 16},
            driver_path="adapters.pytes.driver:PytesDriver",
            simulator_path="adapters.simulators.pytes:PytesSimulator",
            default_poll_interval_s=10.0,
        ),
        AdapterTypeSpec(
            adapter_type="jkbms_tcpip",
            device_category="battery",
            name="JK BMS TCP/IP Adapter",
            description="JK-PB BMS packs on their RS485 bus, behind a transparent RS485-to-TCP gateway "
            "(host) or on a USB RS485 adapter (serial_port).",
            supported_transports=("tcpip", "serial"),
            config_schema=_schema(
                {**_NET_PROPS, **_CELL_PROPS,
                 "serial_port": _SERIAL_PROPS["serial_port"],
                 "baudrate": _SERIAL_PROPS["baudrate"],
                 "mode": {"type": "string", "enum": ["trigger", "registers", "passive"],
                          "description": "trigger: FC16 frame triggers; registers: FC03 reads at "
                          "0x1200; passive: listen to a master's polling (sends nothing)"},
                 "addresses": {"type": "array", "items": {"type": "integer", "minimum": 0,
                                                          "maximum": 15},
                               "minItems": 1, "uniqueItems": True,
                               "description": "RS485 addresses of the pack's units; 0 is the bus "
                               "master, readable in passive mode only"},
                 "batteries": {"type": "integer", "minimum": 1, "maximum": 15},
                 "cells_per_battery": {"type": "integer", "minimum": 1, "maximum": 32},
                 "request_gap_ms": {"type": "integer", "minimum": 0, "maximum": 2000}},
                [], [{"if": {"not": {"required": ["serial_port"]}}, "then": {"required": ["host"]}}]),
            default_config={"port": 5022, "baudrate": 115200, "mode": "trigger", "timeout": 3.0,
                            "batteries": 1, "cells_per_battery": 16, "request_gap_ms": 120},
            driver_path="adapters.jkbms_tcpip.driver:JkbmsTcpDriver",
            simulator_path="adapters.simulators.jkbms:JkGatewaySimulator",
            default_poll_interval_s=10.0,
        ),
        AdapterTypeSpec(
            adapter_type="jkbms_ble",
            device_category="battery",
            name="JK BMS Bluetooth Adapter",
            description="JK-B BMS over Bluetooth Low Energy; each address is one battery of the pack.",
            supported_transports=("ble",),
            config_schema=_schema(
                {**_CELL_PROPS,
                 "bt_addresses": {"type": "array", "minItems": 1, "uniqueItems": True,
                                  "items": {"type": "string",
                                            "pattern": "^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"}},
                 "layout": {"type": "string", "enum": ["auto", "24s", "32s"]},
                 "cells_per_battery": {"type": "integer", "minimum": 1, "maximum": 32},
                 "reconnect_backoff_s": {"type": "number", "minimum": 0, "maximum": 600}},
                ["bt_addresses"]),
            default_config={"layout": "auto", "timeout": 10.0, "reconnect_backoff_s": 2.0},
            driver_path="adapters.jkbms_ble.driver:JkbmsBleDriver",
            simulator_path="adapters.simulators.jkbms_ble:FakeBleakClient",
            default_poll_interval_s=15.0,
        ),
        AdapterTypeSpec(
            adapter_type="iammeter",
            device_category="meter",
            name="IAMMeter Adapter",
            description="IAMMeter WEM3080 (single-phase) and WEM3080T (three-phase) energy meters "
            "over Modbus TCP or RTU.",
            supported_transports=("tcp", "rtu", "rtu_over_tcp"),
            config_schema=_schema(
                {**_MODBUS_PROPS,
                 "model": {"type": "string", "enum": ["WEM3080", "WEM3080T"]}},
                ["transport"], _TRANSPORT_RULES),
            default_config={"transport": "tcp", "port": 502, "unit_id": 1, "timeout": 2.0,
                            "baudrate": 9600, "parity": "N", "stopbits": 1, "bytesize": 8,
                            "model": "WEM3080T", "gap_bridge": 8, "max_block": 125},
            driver_path="adapters.iammeter.driver:IammeterDriver",
            simulator_path="adapters.simulators.modbus:IammeterSimulator",
            default_poll_interval_s=5.0,
        ),
    )
}

DEVICE_CATEGORIES = ("inverter", "battery", "meter")


def get_type(adapter_type: str) -> AdapterTypeSpec:
    """Return the spec of ``adapter_type`` or raise :class:`ConfigError` naming the known types."""
    try:
        return ADAPTER_TYPES[adapter_type]
    except KeyError:
        known = ", ".join(sorted(ADAPTER_TYPES))
        raise ConfigError(f"unknown adapter type {adapter_type!r} (known: {known})") from None


def _error_path(error: jsonschema.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        path = f"{path}.{missing}" if path else missing
    if error.validator == "additionalProperties":
        return path or "(config)"
    return path or "(config)"


def validate_config(adapter_type: str, config: Any) -> list[str]:
    """Check ``config`` against its type's schema.

    Returns every problem as ``"field: message"`` (empty when valid). The config is
    checked as stored, merged over the type's defaults, so a field left out falls
    back to its default.
    """
    try:
        spec = get_type(adapter_type)
    except ConfigError as exc:
        return [f"adapter_type: {exc}"]
    if not isinstance(config, Mapping):
        return [f"(config): must be a JSON object, not {type(config).__name__}"]
    problems: list[str] = []
    declared = config.get("type")
    if declared is not None and declared != adapter_type:
        problems.append(f"type: {declared!r} does not match the adapter type {adapter_type!r}")
    merged = config_with_defaults(adapter_type, config)
    validator = jsonschema.Draft202012Validator(spec.config_schema)
    for error in sorted(validator.iter_errors(merged), key=lambda e: list(e.absolute_path)):
        problems.append(f"{_error_path(error)}: {error.message}")
    return problems


def config_with_defaults(adapter_type: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The type's default config overlaid with ``config``."""
    merged = copy.deepcopy(get_type(adapter_type).default_config)
    merged.update(config)
    return merged


def create_driver(adapter_type: str, config: Mapping[str, Any]) -> Driver:
    """Validate ``config`` and build the driver for it.

    Raises :class:`ConfigError` with every schema problem when the config is invalid.
    """
    problems = validate_config(adapter_type, config)
    if problems:
        raise ConfigError(f"{adapter_type} config is invalid: " + "; ".join(problems))
    spec = get_type(adapter_type)
    return spec.driver_class()(config_with_defaults(adapter_type, config))
