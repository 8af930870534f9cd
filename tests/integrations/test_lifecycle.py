"""Discovery over a device's life: deletion, Home Assistant restarts, the original's ids, extensions."""

from __future__ import annotations

import json
import os
import time

import pytest

from catalog.models import Meter
from integrations.models import MqttSettings
from integrations.mqtt import runtime
from integrations.mqtt.extensions import ExtraComponent, register_provider, unregister_provider
from integrations.mqtt.publisher import Event, Publisher
from solarmon.demo import DemoRig
from telemetry.polling import device_refs, poll_device
from tests.integrations.conftest import HaListener, start_publisher

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(120)]


def _configs(listener: HaListener, prefix: str) -> dict[str, dict]:
    return {t: json.loads(p) for t, p in listener.topics(f"{prefix}/device/").items()}


def test_a_deleted_device_has_its_config_removed(live_installation: DemoRig, listener: HaListener,
                                                 publisher: Publisher) -> None:
    topic = f"{publisher.naming.prefix}/device/solarmon_meter_grid_meter_1/config"
    listener.wait(lambda: bool(listener.payload(topic)), what="meter config")
    Meter.objects.filter(pk="grid_meter_1").delete()
    publisher.submit(Event("sync"))
    listener.wait(lambda: listener.payload(topic) == b"", what="empty retained config")
    # the state is emptied right after the config, in its own message: the listener may not have it yet
    state = f"{publisher.naming.base}/meter/grid_meter_1/state"
    listener.wait(lambda: listener.payload(state) == b"", what="empty retained state")


def test_a_config_left_by_a_device_deleted_while_solarmon_was_down_is_removed(
        live_installation: DemoRig, listener: HaListener, mqtt_settings: MqttSettings) -> None:
    prefix, base = mqtt_settings.discovery_prefix, mqtt_settings.base_topic
    orphan = f"{prefix}/device/solarmon_meter_gone/config"
    foreign = f"{prefix}/device/zigbee_lamp/config"
    listener.publish(orphan, json.dumps({"o": {"name": "solarmon"}, "state_topic": f"{base}/meter/gone/state",
                                         "dev": {"ids": ["x"]}, "cmps": {}}), retain=True)
    listener.publish(foreign, json.dumps({"o": {"name": "zigbee2mqtt"}, "state_topic": "zigbee/lamp",
                                          "dev": {"ids": ["y"]}, "cmps": {}}), retain=True)
    publisher = start_publisher()
    try:
        listener.wait(lambda: listener.payload(orphan) == b"", what="orphan removed")
        assert listener.json(foreign)["o"]["name"] == "zigbee2mqtt"  # not ours: left alone
    finally:
        publisher.stop()
        listener.publish(foreign, "", retain=True)


def test_home_assistant_birth_message_gets_every_config_again(
        live_installation: DemoRig, listener: HaListener, publisher: Publisher) -> None:
    prefix = publisher.naming.prefix
    listener.wait(lambda: len(listener.topics(f"{prefix}/device/")) >= 11, what="configs")
    count = sum(1 for _, topic, _ in listener.history if topic.startswith(f"{prefix}/device/"))
    listener.publish(f"{prefix}/status", "online")
    listener.wait(lambda: sum(1 for _, topic, _ in listener.history if topic.startswith(f"{prefix}/device/"))
                  >= count + 11, what="configs re-sent")


def test_legacy_ids_keep_the_original_unique_ids_and_take_over_its_entities(
        live_installation: DemoRig, mqtt_url: str, mqtt_settings: MqttSettings) -> None:
    MqttSettings.objects.filter(pk=mqtt_settings.pk).update(legacy_ids=True)
    prefix, base = mqtt_settings.discovery_prefix, mqtt_settings.base_topic
    listener = HaListener(mqtt_url, [f"{prefix}/#", f"{base}/#"])
    old = f"{prefix}/sensor/powdrive1_pv_power_w/config"
    listener.publish(old, json.dumps({"unique_id": "powdrive1_pv_power_w",
                                      "state_topic": f"{base}/powdrive1/regs",
                                      "device": {"identifiers": ["powdrive1"]}}), retain=True)
    for ref in device_refs():
        poll_device(ref)
    publisher = start_publisher()
    try:
        config_topic = f"{prefix}/device/solarmon_inverter_powdrive1/config"
        listener.wait(lambda: bool(listener.payload(config_topic)), what="device config")
        config = listener.json(config_topic)
        assert config["dev"]["ids"] == ["powdrive1"]
        assert config["cmps"]["pv_power_w"]["unique_id"] == "powdrive1_pv_power_w"
        assert config["state_topic"] == f"{base}/powdrive1/regs"
        listener.wait(lambda: listener.payload(old) == b"", what="old single-component config cleared")
        handover = [p for _, t, p in listener.history if t == old]
        assert json.loads(handover[-2]) == {"migrate_discovery": True}  # HA's migration, then the removal
        wanted = {"array:array1", "system:system", "meter:grid_meter_1", "pack:battery1",
                  "battery_unit:battery1:1"}
        listener.wait(lambda: wanted <= {c["dev"]["ids"][0] for c in _configs(listener, prefix).values()},
                      what="the original's device identifiers")
        configs = _configs(listener, prefix)
        unit = configs[f"{prefix}/device/solarmon_battery_battery1_b0/config"]
        assert unit["cmps"]["soc"]["unique_id"] == "battery_battery1_unit_1_state_of_charge"
        assert configs[f"{prefix}/device/solarmon_meter_grid_meter_1/config"]["cmps"][
            "grid_import_total_kwh"]["unique_id"] == "meter_grid_meter_1_energy_kwh"
        listener.wait(lambda: listener.json(f"{base}/systems/system/state") is not None, what="system state")
    finally:
        publisher.stop()
        listener.close()


def test_another_app_adds_a_binary_sensor_and_its_state_topic(
        live_installation: DemoRig, listener: HaListener, mqtt_settings: MqttSettings) -> None:
    def alerts(device: object) -> list[ExtraComponent]:
        if getattr(device, "kind", "") != "pack":
            return []
        return [ExtraComponent("alert_low_soc", "binary_sensor", "alert_low_soc", "alerts/low_soc",
                               {"name": "Low SOC", "device_class": "problem"})]

    register_provider(alerts)
    publisher = start_publisher()
    runtime._publisher, runtime._owner_pid = publisher, os.getpid()
    try:
        topic = f"{mqtt_settings.discovery_prefix}/device/solarmon_pack_battery1/config"
        listener.wait(lambda: "alert_low_soc" in (listener.json(topic) or {}).get("cmps", {}), what="alert")
        component = listener.json(topic)["cmps"]["alert_low_soc"]
        assert component["p"] == "binary_sensor"
        assert runtime.publish_extra(("pack", "battery1"), "alerts/low_soc", "ON")
        listener.wait(lambda: listener.payload(component["state_topic"]) == b"ON", what="alert state")
    finally:
        unregister_provider(alerts)
        runtime._publisher, runtime._owner_pid = None, 0
        publisher.stop()


def test_a_restarted_publisher_never_removes_the_configs_of_existing_devices(
        live_installation: DemoRig, listener: HaListener, mqtt_settings: MqttSettings) -> None:
    prefix = mqtt_settings.discovery_prefix
    first = start_publisher()
    listener.wait(lambda: len(listener.topics(f"{prefix}/device/")) >= 11, what="configs")
    first.stop()
    second = start_publisher()  # the broker hands back our retained configs as it subscribes
    try:
        bridge = f"{mqtt_settings.base_topic}/status"
        listener.wait(lambda: listener.payload(bridge) == b"online", what="online")
        time.sleep(1.5)
        cleared = [t for _, t, p in listener.history if t.startswith(f"{prefix}/device/") and not p]
        assert cleared == []
    finally:
        second.stop()
