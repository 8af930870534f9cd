"""Home Assistant's view of the installation: discovery configs, state topics and values."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from jinja2.sandbox import SandboxedEnvironment

from catalog.models import System
from integrations.mqtt.publisher import Publisher
from solarmon.demo import DemoRig
from telemetry.polling import device_refs, poll_device
from tests.integrations.conftest import HaListener

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(120)]

JINJA = SandboxedEnvironment()


def render(template: str, payload: Any) -> str:
    """Render a value template as Home Assistant does (``value_json`` is the parsed payload)."""
    return JINJA.from_string(template).render(value_json=payload)


def expand(config: dict[str, Any]) -> list[dict[str, Any]]:
    """A device-based config as Home Assistant splits it: one entity per component, shared options merged."""
    shared = {k: v for k, v in config.items() if k not in ("dev", "o", "cmps")}
    return [{**shared, **cmp, "device": config["dev"], "origin": config["o"]}
            for cmp in config["cmps"].values()]


def poll_all() -> None:
    for ref in device_refs():
        assert poll_device(ref).ok, ref.key


def test_every_device_is_discovered_with_values_the_api_shows(
        live_installation: DemoRig, listener: HaListener, publisher: Publisher, admin_client: Client) -> None:
    poll_all()
    prefix = publisher.naming.prefix
    expected = {("system", "system"), ("array", "array1"), ("array", "array2"),
                ("battery_array", "battery_array1"), ("battery_array", "battery_array2"),
                ("inverter", "powdrive1"), ("inverter", "senergy1"), ("inverter", "powdrive2"),
                ("pack", "battery1"), ("pack", "jkbms_bank"), ("meter", "grid_meter_1")}
    listener.wait(lambda: len(listener.topics(f"{prefix}/device/")) >= len(expected) + 4, what="configs")
    configs = {t: listener.json(t) for t in listener.topics(f"{prefix}/device/")}
    identifiers = {c["dev"]["ids"][0]: c for c in configs.values()}
    for kind, device_id in expected:
        assert f"solarmon_{kind}_{device_id}" in identifiers
    for config in configs.values():
        assert config["o"]["name"] == "solarmon"
        assert config["availability_mode"] == "all"
        via = config["dev"].get("via_device")
        assert via is None or via in identifiers, f"{config['dev']['ids']} points at unknown {via}"
        for entity in expand(config):
            assert entity["unique_id"]
            if entity["p"] == "sensor":
                assert entity["expire_after"] > 0
            else:  # the alerts' binary sensors (tests/integrations/test_alerts_mqtt.py)
                assert entity["p"] == "binary_sensor" and entity["device_class"] == "problem"
    # The hierarchy: inverter → array → system; battery unit → pack → battery array → system.
    assert identifiers["solarmon_inverter_powdrive1"]["dev"]["via_device"] == "solarmon_array_array1"
    assert identifiers["solarmon_battery_battery1_b1"]["dev"]["via_device"] == "solarmon_pack_battery1"
    assert (identifiers["solarmon_pack_battery1"]["dev"]["via_device"]
            == "solarmon_battery_array_battery_array2")
    assert "via_device" not in identifiers["solarmon_system_system"]["dev"]
    unique_ids = [e["unique_id"] for c in configs.values() for e in expand(c)]
    assert len(unique_ids) == len(set(unique_ids))

    # State topics carry what the API shows.
    api = admin_client.get("/api/systems/system/hierarchy/").json()
    inverters = {i["inverter_id"]: i for a in api["arrays"] for i in a["inverters"]}
    listener.wait(lambda: all(listener.payload(e["state_topic"]) for c in configs.values()
                              for e in expand(c) if c["dev"]["ids"][0].startswith("solarmon_inverter")),
                  what="inverter states")
    for inverter_id, shown in inverters.items():
        config = identifiers[f"solarmon_inverter_{inverter_id}"]
        state = listener.json(config["state_topic"])
        for entity in expand(config):
            if entity["p"] != "sensor":
                continue
            key = entity["value_template"].split("value_json.")[1].split()[0]
            if key in shown["latest"] and shown["latest"][key] is not None and "energy" != entity.get(
                    "device_class"):
                assert float(render(entity["value_template"], state)) == pytest.approx(shown["latest"][key],
                                                                                         abs=1e-3), key
    # Battery units read their pack's message: each cell voltage renders to a number.
    pack = identifiers["solarmon_pack_battery1"]
    pack_state = listener.json(pack["state_topic"])
    units = [c for c in configs.values() if c["dev"].get("via_device") == "solarmon_pack_battery1"]
    assert len(units) == 2
    for unit in units:
        cells = [e for e in expand(unit) if e["unique_id"].endswith("_voltage") and "cell_" in e["unique_id"]]
        assert len(cells) == 16
        for cell in cells:
            assert 2.5 < float(render(cell["value_template"], pack_state)) < 3.7
    # Every polled device is online; so is the bridge.
    assert listener.payload(publisher.naming.bridge_topic) == b"online"
    for config in configs.values():
        listener.wait(lambda c=config: listener.payload(c["availability"][1]["topic"]) == b"online",
                      what=f"{config['dev']['ids']} online")
    assert System.objects.count() == 1
