"""Configuring a device in the admin as a new user would: no JSON typed, tested before saving.

And the API docs, which must render with nothing fetched from another host.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.simulators.modbus import PowdriveSimulator
from adapters.simulators.plant import Plant, PlantParams
from catalog import models as m
from catalog.services import sync_adapter_types
from tests.dashboard.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(90)]
SERIAL = "PD87654321"


@pytest.fixture
def powdrive_port(transactional_db: None) -> Iterator[int]:
    sync_adapter_types()  # the flushed test database lost the registry's rows
    sim = PowdriveSimulator(Plant(PlantParams(seed=5), start=datetime.now(UTC)), serial=SERIAL).start()
    yield sim.serve_tcp(0)
    sim.stop()


def _choose_powdrive_over_tcp(page: Any) -> None:
    page.goto("/admin/catalog/adapter/add/")
    page.fill("#id_adapter_id", "powdrive1_adapter")
    with page.expect_navigation():
        page.select_option("#id_adapter_type", "powdrive")  # the form becomes the powdrive form
    assert page.input_value("#id_adapter_id") == "powdrive1_adapter"
    assert page.is_visible("#id_config__serial_port")  # rtu is the type's default transport
    page.select_option("#id_config__transport", "tcp")


def test_add_a_powdrive_through_the_form_and_test_it_before_saving(page: Any, powdrive_port: int) -> None:
    _choose_powdrive_over_tcp(page)
    assert not page.is_visible("#id_config__serial_port")  # serial settings are not tcp's
    assert not page.is_visible("#id_config__baudrate")
    page.fill("#id_config__host", "127.0.0.1")
    page.fill("#id_config__port", str(powdrive_port))
    assert page.input_value("#id_config__unit_id") == "1"  # the default is filled in

    page.click("#test-connection-button")
    result = page.wait_for_selector("#test-connection-result .test-ok", timeout=20000)
    assert SERIAL in result.inner_text()
    reading = page.locator("#test-connection-result table").inner_text()
    assert "soc" in reading and "grid_voltage_v" in reading
    assert not m.Adapter.objects.exists()  # testing saves nothing
    screenshot(page, "admin-adapter-tested")

    page.click("input[name=_save]")
    page.wait_for_url("**/admin/catalog/adapter/")
    adapter = m.Adapter.objects.get(pk="powdrive1_adapter")
    assert adapter.config_json["transport"] == "tcp"
    assert adapter.config_json["host"] == "127.0.0.1" and adapter.config_json["port"] == powdrive_port
    assert adapter.device_category == "inverter"


def test_a_validation_error_shows_on_the_field_it_concerns(page: Any, powdrive_port: int) -> None:
    _choose_powdrive_over_tcp(page)
    page.select_option("#id_config__transport", "rtu")
    page.fill("#id_config__unit_id", "300")
    page.click("#test-connection-button")  # the test names the fields before trying
    page.wait_for_selector(".field-config__unit_id ul.errorlist")
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    unit_row = page.locator(".form-row.field-config__unit_id")
    assert "300 is greater than the maximum of 247" in unit_row.locator("ul.errorlist").inner_text()
    port_row = page.locator(".form-row.field-config__serial_port")
    assert "required" in port_row.locator("ul.errorlist").inner_text()
    assert page.locator(".form-row.field-config__host ul.errorlist").count() == 0
    assert not m.Adapter.objects.exists()
    screenshot(page, "admin-adapter-errors")


def test_api_docs_render_with_nothing_fetched_from_another_host(page: Any) -> None:
    # The page fixture fails the test on any off-host request or console error.
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("text=solarmon API", timeout=20000)
    # The operations are listed (Swagger UI renders the groups one after another).
    page.locator(".opblock-tag").nth(4).wait_for(state="attached", timeout=20000)
    assert page.locator(".opblock-tag").count() >= 5
    screenshot(page, "api-docs")
