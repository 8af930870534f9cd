"""Adapter configs are checked against their type's JSON Schema, with the field named."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from catalog import models as m
from catalog.services import save_entity, sync_adapter_types
from tests import factories as f

pytestmark = pytest.mark.django_db


def _errors(adapter_type: str, config: object) -> list[str]:
    with pytest.raises(ValidationError) as err:
        save_entity(m.Adapter(adapter_id="a1", adapter_type_id=adapter_type, config_json=config))
    assert not m.Adapter.objects.filter(pk="a1").exists()
    return err.value.message_dict.get("config_json", []) + err.value.message_dict.get("adapter_type", [])


def test_wrong_type_names_the_field() -> None:
    problems = _errors("powdrive", {"transport": "tcp", "host": "10.0.0.5", "port": "five-oh-two"})
    assert any(p.startswith("port:") and "integer" in p for p in problems)


def test_rtu_without_a_serial_port_names_the_missing_field() -> None:
    problems = _errors("senergy", {"transport": "rtu"})
    assert any(p.startswith("serial_port:") for p in problems)


def test_unknown_transport_is_rejected() -> None:
    problems = _errors("iammeter", {"transport": "carrier-pigeon", "host": "x"})
    assert any(p.startswith("transport:") for p in problems)


def test_ble_addresses_must_look_like_mac_addresses() -> None:
    problems = _errors("jkbms_ble", {"bt_addresses": ["C8:47:80:1A:1F:04", "not-a-mac"]})
    assert any(p.startswith("bt_addresses[1]:") for p in problems)


def test_unknown_field_is_reported() -> None:
    problems = _errors("pytes", {"serial_port": "/dev/ttyUSB0", "baud": 115200})
    assert any("baud" in p for p in problems)


def test_config_must_be_an_object() -> None:
    assert any("object" in p for p in _errors("pytes", ["/dev/ttyUSB0"]))


def test_unknown_adapter_type_is_rejected() -> None:
    with pytest.raises(ValidationError) as err:
        save_entity(m.Adapter(adapter_id="a1", adapter_type_id="victron", config_json={}))
    assert "adapter_type" in err.value.message_dict


def test_declared_type_must_match() -> None:
    problems = _errors("powdrive", {"type": "senergy", "transport": "tcp", "host": "x"})
    assert any(p.startswith("type:") for p in problems)


def test_valid_config_is_saved_with_the_category_of_its_type() -> None:
    ad = f.adapter("jk", "jkbms_tcpip", {"host": "127.0.0.1", "port": 5022, "addresses": [1, 2]})
    assert ad.device_category == "battery"


def test_adapter_types_come_from_the_registry_and_sync_is_idempotent() -> None:
    # migrate already synced; a second sync writes nothing.
    assert sync_adapter_types() == 0
    assert set(m.AdapterType.objects.values_list("adapter_type", flat=True)) == {
        "powdrive", "senergy", "pytes", "jkbms_tcpip", "jkbms_ble", "iammeter"}
    pytes = m.AdapterType.objects.get(pk="pytes")
    assert pytes.device_category == "battery"
    assert (pytes.default_config or {})["baudrate"] == 115200
    # A row changed behind the registry's back is put right by the next sync.
    m.AdapterType.objects.filter(pk="pytes").update(name="tampered")
    assert sync_adapter_types() == 1
    assert m.AdapterType.objects.get(pk="pytes").name != "tampered"
