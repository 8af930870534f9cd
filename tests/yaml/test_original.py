"""The original system's config.yaml imports as it is: what maps is imported, the rest is a warning.

``original/config.example.yaml`` is the original's own example (its oldest shape, not valid YAML
in two blocks solarmon skips anyway); ``original/example_legacy.config.yaml`` is the config of the
example database; ``original/full_installation.yaml`` has every section and key of the original's
configuration model, older and newer shapes mixed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management.base import CommandError
from django.test import override_settings

from catalog import models as m
from discovery.conf import DiscoverySettings
from discovery.models import DiscoveryConfig
from integrations.models import MqttSettings
from tests.yaml.conftest import HERE, catalog_dump, run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

ORIGINAL = HERE / "original"
OLDEST = ORIGINAL / "config.example.yaml"
EXAMPLE_DB_CONFIG = ORIGINAL / "example_legacy.config.yaml"
FULL = ORIGINAL / "full_installation.yaml"


def _warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("warning: ")]


def test_the_originals_own_example_imports_with_warnings_only() -> None:
    output = run("import_yaml", str(OLDEST))
    assert "imported: " in output
    warnings = _warnings(output)
    # The two blocks that are not valid YAML are skipped, saying where the syntax broke.
    assert any(w.startswith("warning: smart: not imported:") and "not valid YAML" in w and "line 67" in w
               for w in warnings)
    assert any(w.startswith("warning: inverters[0].solar: not imported:") and "not valid YAML" in w
               for w in warnings)
    assert any("inverters[1].adapter.register_map_file: not imported: solarmon's register maps are "
               "built in (config.example.yaml line 117)" in w for w in warnings)
    # No home section: the original's default system id; no arrays: the default array.
    system = m.System.objects.get()
    assert system.pk == "home"
    assert sorted(m.Inverter.objects.values_list("pk", "array_id")) == [("senergy1", "array1"),
                                                                       ("senergy2", "array1")]
    # polling.interval_secs is every adapter's poll interval.
    assert set(m.Adapter.objects.values_list("poll_interval_s", flat=True)) == {5.0}
    assert m.Adapter.objects.get(pk="senergy2_adapter").config_json["unit_id"] == 2
    mqtt = MqttSettings.objects.get()
    assert (mqtt.enabled, mqtt.broker_url, mqtt.base_topic, mqtt.client_id, mqtt.discovery_enabled,
            mqtt.legacy_ids) == (True, "mqtt://192.168.88.18:1883", "solar/fleet", "solar-hub", True, True)


def test_every_section_of_a_real_installation_lands_where_the_readme_says() -> None:
    output = run("import_yaml", str(FULL))
    warned = {w.split(": not imported")[0].removeprefix("warning: ") for w in _warnings(output)}
    assert {"smart", "logging", "billing", "battery_data_source", "polling.timeout_ms", "polling.concurrent",
            "arrays[0].scheduler", "inverters[0].safety", "inverters[0].solar", "discovery.max_retries",
            "meters[0].adapter.voltage_register", "battery_banks[1].adapter",
            "battery_banks[0].adapters[1].adapter.bt_pin"} <= warned
    system = m.System.objects.get()
    assert (system.pk, system.timezone) == ("home", "Asia/Karachi")
    assert set(m.Adapter.objects.values_list("poll_interval_s", flat=True)) == {5.0}
    # The failover list in the original's nested form, JK keys in solarmon's terms.
    links = list(m.BatteryPackAdapter.objects.filter(pack="jk_bank").order_by("priority")
                 .values_list("adapter__adapter_type", "priority", "enabled"))
    assert links == [("jkbms_tcpip", 1, True), ("jkbms_ble", 2, True)]
    tcp = m.Adapter.objects.get(pk="jk_bank_adapter_1").config_json
    # poll_timeout (listening per poll) is how long passive mode waits for the BMSes' frames.
    assert (tcp["mode"], tcp["addresses"], tcp["timeout"]) == ("passive", [1, 2], 2.5)
    ble = m.Adapter.objects.get(pk="jk_bank_adapter_2").config_json
    assert ble["bt_addresses"] == ["C8:47:8C:E4:54:0E", "C8:47:8C:E4:54:0F"] and ble["timeout"] == 8.0
    jk = m.BatteryPack.objects.get(pk="jk_bank")
    assert (jk.model, jk.manufacturer) == ("JK_PB2A16S20P", "JK")
    # A JK pack on a local serial port is imported without the adapter solarmon cannot use.
    assert not m.BatteryPackAdapter.objects.filter(pack="jk_serial").exists()
    # battery_packs + attachments + the single battery_bank: one pack, in a battery array made
    # for the inverter array it is attached to, with its attachment history and unit serials.
    lfp = m.BatteryPack.objects.get(pk="lfp_stack")
    assert (lfp.name, lfp.chemistry, lfp.nominal_kwh, lfp.model, lfp.manufacturer) == (
        "LFP stack (console)", "LFP", 10.24, "USP5000", "PYTES Energy Co.Ltd")
    assert list(lfp.batteries.order_by("battery_index").values_list("serial_number", flat=True)) == [
        "PPTAH02104250017", "PPTAH02104250018"]
    assert lfp.cells.count() == 30
    history = list(m.BatteryArrayAttachment.objects.filter(battery_array=lfp.battery_array_id)
                   .order_by("attached_since").values_list("inverter_array", "detached_at"))
    assert [(array, until is None) for array, until in history] == [("first", False), ("first", True)]
    assert m.Meter.objects.get().array_id is None
    mqtt = MqttSettings.objects.get()
    assert (mqtt.broker_url, mqtt.username, mqtt.password, mqtt.client_id) == (
        "mqtt://192.168.88.18:1884", "solar", "s3cret-pass", "solar-hub-roof")
    stored = DiscoveryConfig.objects.get()
    assert (stored.interval_s, stored.retry_base_s, stored.retry_max_s, stored.backoff_multiplier,
            stored.probe_order, stored.scan_on_startup) == (
        3600.0, 900.0, 7200.0, 1.5, ["pytes", "powdrive", "senergy", "iammeter"], False)


@pytest.mark.parametrize("source", [OLDEST, EXAMPLE_DB_CONFIG, FULL], ids=lambda p: p.name)
def test_the_result_exports_and_round_trips(source: Path, tmp_path: Path) -> None:
    run("import_yaml", str(source))
    first = run("export_yaml")
    assert "s3cret-pass" not in first  # the MQTT password is never written out
    before = catalog_dump()
    exported = tmp_path / "exported.yaml"
    exported.write_text(first)
    output = run("import_yaml", str(exported))
    assert "0 created, 0 updated" in output
    assert not _warnings(output)  # the export is solarmon's own shape
    assert catalog_dump() == before
    assert run("export_yaml") == first
    if source == FULL:
        assert MqttSettings.objects.get().password == "s3cret-pass"  # kept, though not exported


def test_strict_makes_what_is_not_imported_an_error_and_writes_nothing() -> None:
    with pytest.raises(CommandError) as caught:
        run("import_yaml", str(EXAMPLE_DB_CONFIG), "--strict")
    message = str(caught.value)
    assert "nothing was written" in message
    assert "inverters[0].adapter.register_map_file: not imported" in message
    assert not m.System.objects.exists() and not MqttSettings.objects.exists()


def test_a_key_neither_solarmon_nor_the_original_knows_is_still_an_error(tmp_path: Path) -> None:
    text = EXAMPLE_DB_CONFIG.read_text().replace("    baudrate: 9600\n", "    baud_rate: 9600\n", 1)
    text = text.replace("polling:\n", "poling:\n")
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    with pytest.raises(CommandError) as caught:
        run("import_yaml", str(path))
    message = str(caught.value)
    assert "poling: unknown key 'poling' (" in message and "(typo.yaml line 12)" in message
    assert "inverters[0].adapter.baud_rate: Additional properties are not allowed" in message
    assert "(typo.yaml line 31)" in message
    assert not m.System.objects.exists()


def test_dry_run_reports_the_warnings_and_writes_nothing() -> None:
    output = run("import_yaml", str(FULL), "--dry-run")
    assert "warning: billing: not imported" in output and "dry run, nothing written" in output
    assert not m.System.objects.exists() and not DiscoveryConfig.objects.exists()


def test_stored_discovery_settings_apply_unless_the_environment_sets_them() -> None:
    run("import_yaml", str(FULL))
    conf = DiscoverySettings.load()
    assert (conf.interval_s, conf.probe_timeout_s, conf.retry_delay_s(3), conf.scan_on_startup) == (
        3600.0, 2.0, 900.0 * 1.5 ** 2, False)
    with override_settings(SOLARMON_DISCOVERY_FROM_ENV=frozenset({"SOLARMON_DISCOVERY_INTERVAL_S"}),
                           SOLARMON_DISCOVERY_INTERVAL_S=120.0):
        assert DiscoverySettings.load().interval_s == 120.0


def test_the_mqtt_password_is_write_only_in_the_admin(admin_client: object) -> None:
    run("import_yaml", str(FULL))
    page = admin_client.get("/admin/integrations/mqttsettings/1/change/")  # type: ignore[attr-defined]
    assert page.status_code == 200
    assert b"s3cret-pass" not in page.content
    form = {"broker_url": "mqtt://192.168.88.18:1884", "username": "solar", "password": "",
            "client_id": "solar-hub-roof", "base_topic": "solar/fleet", "discovery_prefix": "homeassistant",
            "qos": "1", "tls_ca_file": "", "enabled": "on", "legacy_ids": "on"}
    reply = admin_client.post("/admin/integrations/mqttsettings/1/change/", form)  # type: ignore[attr-defined]
    assert reply.status_code == 302
    assert MqttSettings.objects.get().password == "s3cret-pass"  # an empty field keeps it
    assert not MqttSettings.objects.get().discovery_enabled


def test_the_exported_mqtt_section_is_solarmons_shape() -> None:
    run("import_yaml", str(EXAMPLE_DB_CONFIG))
    section = yaml.safe_load(run("export_yaml"))["mqtt"]
    assert section["broker_url"] == "mqtt://127.0.0.1:1883" and "host" not in section
    assert "password" not in section


def test_poll_timeout_outside_passive_listening_is_a_warning_and_a_huge_one_is_capped(tmp_path: Path) -> None:
    text = FULL.read_text()
    asking = tmp_path / "asking.yaml"
    asking.write_text(text.replace("          bms_broadcasting: true\n", "", 1))
    output = run("import_yaml", str(asking))
    assert any(w.startswith("warning: battery_banks[0].adapters[0].adapter.poll_timeout: not imported")
               for w in _warnings(output))
    assert m.Adapter.objects.get(pk="jk_bank_adapter_1").config_json["mode"] == "trigger"
    huge = tmp_path / "huge.yaml"
    huge.write_text(text.replace("poll_timeout: 2.5", "poll_timeout: 600", 1))
    output = run("import_yaml", str(huge))
    assert "600 s is outside solarmon's timeout" in output
    assert m.Adapter.objects.get(pk="jk_bank_adapter_1").config_json["timeout"] == 60.0
