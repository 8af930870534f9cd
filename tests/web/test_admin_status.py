"""Device state in the admin's lists, the pack's adapters with the active one, poll now, titles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from catalog import models as m
from catalog.services import save_entity
from telemetry.models import DeviceStatus
from tests import factories as f

pytestmark = pytest.mark.django_db


def _status(kind: str, device_id: str, **values: object) -> DeviceStatus:
    defaults = {"system_id": "system", "poll_interval_s": 5.0, **values}
    return DeviceStatus.objects.create(device_type=kind, device_id=device_id, **defaults)


def test_inverter_list_shows_state_last_seen_and_last_error(staff_client: Client) -> None:
    sys = f.system()
    arr = f.array("array1", sys)
    f.inverter("inv_ok", arr)
    f.inverter("inv_bad", arr)
    f.inverter("inv_new", arr)
    now = timezone.now()
    _status("inverter", "inv_ok", last_seen=now - timedelta(seconds=3))
    _status("inverter", "inv_bad", last_seen=now - timedelta(minutes=30), consecutive_failures=7,
            last_error="powdrive at rtu /dev/ttyUSB0 unit 1: no reply within 2.0 s")
    page = staff_client.get("/admin/catalog/inverter/").content.decode()
    rows = {inv: page[page.index(f">{inv}<"):].split("</tr>", 1)[0]
            for inv in ("inv_ok", "inv_bad", "inv_new")}
    assert "online" in rows["inv_ok"] and "ago" in rows["inv_ok"]
    assert "offline" in rows["inv_bad"] and "no reply within 2.0 s" in rows["inv_bad"]
    assert "unknown" in rows["inv_new"] and "never" in rows["inv_new"]


def test_a_packs_page_lists_its_adapters_by_priority_and_marks_the_active_one(staff_client: Client) -> None:
    ba = f.battery_array("battery_array1", f.system())
    pack = f.pack("bank1", ba)
    for adapter_id, priority in (("bank1_ble", 1), ("bank1_wired", 2)):
        adapter = f.adapter(adapter_id, "jkbms_tcpip", {"host": "127.0.0.1"})
        save_entity(m.BatteryPackAdapter(pack=pack, adapter=adapter, priority=priority))
    _status("battery_pack", "bank1", last_seen=timezone.now(), active_adapter_id="bank1_wired")
    page = staff_client.get("/admin/catalog/batterypack/bank1/change/").content.decode()
    first, second = page.index("bank1_ble"), page.index("bank1_wired")
    assert first < second  # priority order
    wired_row = page[second:].split("</tr>", 1)[0]
    ble_row = page[first:second]
    assert "active" in wired_row and "standby" in ble_row
    listing = staff_client.get("/admin/catalog/batterypack/").content.decode()
    assert "bank1_wired" in listing  # the list's "active adapter" column


def test_poll_now_makes_the_selected_devices_due(staff_client: Client) -> None:
    meter = f.meter("grid1", f.system())
    later = timezone.now() + timedelta(minutes=5)
    _status("meter", meter.pk, next_poll_at=later, consecutive_failures=4)
    response = staff_client.post("/admin/catalog/meter/",
                                 {"action": "poll_now", "_selected_action": [meter.pk]}, follow=True)
    assert "1 of 1 devices will be polled" in response.content.decode()
    assert DeviceStatus.objects.get(device_id="grid1").next_poll_at <= timezone.now()


def test_the_admin_says_solarmon_and_batteries(staff_client: Client) -> None:
    page = staff_client.get("/admin/").content.decode()
    assert "Django administration" not in page and "<title>Configuration | solarmon</title>" in page
    assert "Batteries" in page and "Batterys" not in page


def test_every_editable_field_has_a_help_text(staff_client: Client) -> None:
    f.small_hierarchy()
    from django.contrib import admin

    for model in (m.System, m.InverterArray, m.Inverter, m.BatteryArray, m.BatteryPack, m.Battery,
                  m.BatteryCell, m.Meter, m.BatteryArrayAttachment, m.BatteryPackAdapter):
        model_admin = admin.site._registry[model]
        request = staff_client.get("/admin/").wsgi_request
        form = model_admin.get_form(request)()
        missing = [name for name, field in form.fields.items() if not field.help_text]
        assert not missing, f"{model.__name__}: {missing}"
