"""The adapter form in the admin: fields from the type's schema, errors on their field, a test button."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from adapters.registry import ADAPTER_TYPES
from catalog import models as m
from catalog.adapter_forms import config_fields
from catalog.ports import PortChoice
from tests.web.conftest import SIM_SERIAL

pytestmark = pytest.mark.django_db
ADD = "/admin/catalog/adapter/add/"
TEST = "/admin/catalog/adapter/test-connection/"


def _form(**overrides: str) -> dict[str, str]:
    data = {"adapter_id": "pd1_adapter", "adapter_type": "powdrive", "enabled": "on", "priority": "1",
            "config__transport": "tcp", "config__host": "127.0.0.1", "config__port": "502",
            "config__unit_id": "1", "config__timeout": "2", "config__profile": "auto", "config_json": "{}"}
    data.update(overrides)
    return data


def _errors_of(html: str, field: str) -> list[str]:
    """The error messages Django renders in the row of ``field``."""
    row = re.search(rf'<div class="form-row[^"]*field-{field}[^"]*">(.*?)</div>\s*</div>', html, re.S)
    assert row, f"no row for {field}"
    errors = re.search(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', row.group(1), re.S)
    return re.findall(r"<li>(.*?)</li>", errors.group(1)) if errors else []


def test_choosing_a_type_shows_its_schema_as_labelled_fields_with_defaults(staff_client: Client) -> None:
    page = staff_client.get(ADD + "?adapter_type=powdrive").content.decode()
    assert '<label for="id_config__unit_id">Modbus unit id:</label>' in page
    assert "The device&#x27;s Modbus address" in page  # the schema's description is the help text
    baud = re.search(r'<select name="config__baudrate".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="(\d+)"', baud) == ["1200", "2400", "4800", "9600", "19200", "38400",
                                                          "57600", "115200"]
    assert re.search(r'<option value="9600" selected>', baud)  # the type's default
    assert 'data-transports="rtu"' in re.search(r'<select name="config__baudrate"[^>]*>', page).group(0)
    assert 'data-transports="tcp rtu_over_tcp"' in re.search(r'<input[^>]*name="config__host"[^>]*>',
                                                             page).group(0)
    assert 'name="config__type"' not in page  # set by the adapter type, not typed


def test_the_pytes_form_has_no_modbus_fields(staff_client: Client) -> None:
    page = staff_client.get(ADD + "?adapter_type=pytes").content.decode()
    assert 'name="config__serial_port"' in page and 'name="config__batteries"' in page
    assert 'name="config__unit_id"' not in page and 'name="config__transport"' not in page


def test_saving_the_form_stores_only_what_the_transport_uses(staff_client: Client) -> None:
    response = staff_client.post(ADD + "?adapter_type=powdrive", _form(**{"config__port": "1502"}))
    assert response.status_code == 302, response.content.decode()[:2000]
    config = m.Adapter.objects.get(pk="pd1_adapter").config_json
    assert config["transport"] == "tcp" and config["host"] == "127.0.0.1" and config["port"] == 1502
    assert config["unit_id"] == 1 and isinstance(config["unit_id"], int)
    assert not {"baudrate", "serial_port", "parity"} & set(config)  # serial settings are not tcp's


def test_schema_errors_land_on_the_field_they_concern(staff_client: Client) -> None:
    response = staff_client.post(ADD + "?adapter_type=powdrive",
                                 _form(config__transport="rtu", config__unit_id="300"))
    page = response.content.decode()
    assert response.status_code == 200
    assert _errors_of(page, "config__unit_id") == ["300 is greater than the maximum of 247"]
    assert _errors_of(page, "config__serial_port") == ["This field is required here."]
    assert _errors_of(page, "config_json") == []
    assert not m.Adapter.objects.exists()


def test_the_json_view_is_checked_by_the_same_rule(staff_client: Client) -> None:
    data = _form(edit_json="on", config_json=json.dumps({"transport": "tcp", "host": "h", "unit_id": 999}))
    page = staff_client.post(ADD + "?adapter_type=powdrive", data).content.decode()
    assert _errors_of(page, "config_json") == ["unit_id: 999 is greater than the maximum of 247"]
    ok = _form(edit_json="on", config_json=json.dumps({"transport": "tcp", "host": "gw.local", "port": 8899}))
    assert staff_client.post(ADD + "?adapter_type=powdrive", ok).status_code == 302
    assert m.Adapter.objects.get(pk="pd1_adapter").config_json == {"transport": "tcp", "host": "gw.local",
                                                                  "port": 8899}


def test_an_existing_adapter_shows_its_config_in_the_fields(staff_client: Client) -> None:
    staff_client.post(ADD + "?adapter_type=powdrive", _form(config__host="10.1.2.3"))
    page = staff_client.get("/admin/catalog/adapter/pd1_adapter/change/").content.decode()
    assert re.search(r'<input[^>]*name="config__host"[^>]*value="10.1.2.3"', page)


def test_serial_port_field_suggests_ports_by_stable_name_with_usb_details() -> None:
    schema = m.AdapterType.objects.get(pk="pytes").config_schema
    ports = [PortChoice("/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K3XYZ-if00-port0",
                        "FTDI FT232R USB UART, 0403:6001, /dev/ttyUSB0", "this machine")]
    field = config_fields(schema, {}, ports)["config__serial_port"]
    html = field.widget.render("config__serial_port", "", {"id": "id_config__serial_port"})
    assert 'list="id_config__serial_port-ports"' in html
    assert '<option value="/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K3XYZ-if00-port0"' in html
    assert "FTDI FT232R USB UART, 0403:6001" in html


def test_test_connection_reads_the_unsaved_form_from_a_real_device(
        staff_client: Client, powdrive_sim: tuple[Any, int]) -> None:
    _, port = powdrive_sim
    answer = staff_client.post(TEST, _form(config__port=str(port))).json()
    assert answer["ok"] is True, answer
    assert answer["identity"]["serial_number"] == SIM_SERIAL
    assert answer["kind"] == "inverter"
    assert 0 <= answer["reading"]["soc"] <= 100
    assert not m.Adapter.objects.exists()  # nothing was saved


def test_test_connection_names_the_fields_at_fault_before_trying(staff_client: Client) -> None:
    answer = staff_client.post(TEST, _form(config__host="")).json()
    assert answer["ok"] is False
    assert answer["errors"] == {"config__host": ["This field is required here."]}


def test_test_connection_to_nothing_gives_one_line_naming_the_device(staff_client: Client) -> None:
    from tests.setup.services import free_port

    answer = staff_client.post(TEST, _form(config__port=str(free_port()), config__timeout="0.5")).json()
    assert answer["ok"] is False
    assert answer["error"].startswith("powdrive at tcp 127.0.0.1:")
    assert "\n" not in answer["error"]


def test_test_connection_is_for_staff_only(client: Client, powdrive_sim: tuple[Any, int]) -> None:
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("owner"))
    response = client.post(TEST, _form(config__port=str(powdrive_sim[1])))
    assert response.status_code == 302  # to the admin's login


@pytest.mark.parametrize("adapter_type", sorted(ADAPTER_TYPES))
def test_every_connection_field_of_every_type_has_a_title_and_help(adapter_type: str) -> None:
    row = m.AdapterType.objects.get(pk=adapter_type)
    properties = row.config_schema["properties"]
    fields = config_fields(row.config_schema, row.default_config or {})
    assert fields
    for name, field in fields.items():
        key = name.removeprefix("config__")
        assert properties[key].get("title") == field.label, f"{adapter_type} {key} has no title"
        assert field.help_text, f"{adapter_type} {key} has no help text"
