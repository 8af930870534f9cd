"""The admin as configuration UI: every page renders, saves validate, anonymous users log in first."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from catalog import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db

CATALOG_MODELS = [model for model in apps.get_app_config("catalog").get_models()]


@pytest.fixture
def staff_client(client: Client) -> Client:
    user = User.objects.create_superuser("boss", password="pw-for-tests-only")
    client.force_login(user)
    return client


def _url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_catalog_model_is_registered() -> None:
    assert {model for model in CATALOG_MODELS} <= set(admin.site._registry)


@pytest.mark.parametrize("model", CATALOG_MODELS, ids=lambda model: model.__name__)
def test_changelist_and_add_pages_render(staff_client: Client, model: type[Model]) -> None:
    f.small_hierarchy()
    assert staff_client.get(_url(model, "changelist")).status_code == 200
    expected_add = 403 if model is m.AdapterType else 200
    assert staff_client.get(_url(model, "add")).status_code == expected_add


def test_change_pages_with_inlines_render(staff_client: Client) -> None:
    f.small_hierarchy()
    for model, pk in ((m.System, "system"), (m.InverterArray, "array1"), (m.BatteryArray, "battery_array1"),
                      (m.BatteryPack, "battery1"), (m.Battery, "battery1_b0")):
        response = staff_client.get(_url(model, "change", pk))
        assert response.status_code == 200, model
    page = staff_client.get(_url(m.BatteryPack, "change", "battery1")).content.decode()
    assert "battery1_b3" in page  # the batteries inline lists the pack's units


def test_changelists_do_not_query_per_row(staff_client: Client, django_assert_max_num_queries) -> None:
    hierarchy = f.small_hierarchy()
    for i in range(30):
        f.inverter(f"extra{i}", hierarchy["arrays"][0])
    # A fixed number: among them, the navigation asks each one-row settings admin (MQTT, discovery)
    # whether its row exists yet.
    with django_assert_max_num_queries(13):
        assert staff_client.get(_url(m.Inverter, "changelist")).status_code == 200
    with django_assert_max_num_queries(13):
        assert staff_client.get(_url(m.BatteryCell, "changelist")).status_code == 200


def test_adapter_schema_error_is_shown_at_the_field(staff_client: Client) -> None:
    response = staff_client.post(_url(m.Adapter, "add"), {
        "adapter_id": "pd1", "adapter_type": "powdrive", "config_json": '{"transport": "rtu"}',
        "priority": 1, "enabled": "on",
    })
    assert response.status_code == 200  # the form comes back with errors
    errors = response.context["adminform"].form.errors
    assert "serial_port" in " ".join(errors["config_json"])
    assert not m.Adapter.objects.exists()


def test_adapter_saved_from_the_admin(staff_client: Client) -> None:
    response = staff_client.post(_url(m.Adapter, "add"), {
        "adapter_id": "pd1", "adapter_type": "powdrive",
        "config_json": '{"transport": "tcp", "host": "127.0.0.1", "port": 5020}',
        "priority": 1, "enabled": "on",
    })
    assert response.status_code == 302
    assert m.Adapter.objects.get().device_category == "inverter"


def test_inverter_with_mismatched_system_is_refused_by_the_admin(staff_client: Client) -> None:
    f.system("north")
    arr = f.array("a1", f.system("south"))
    response = staff_client.post(_url(m.Inverter, "add"), {
        "inverter_id": "inv1", "array": arr.pk, "system": "north", "name": "Inverter"})
    assert response.status_code == 200
    assert "system_id" in str(response.context["adminform"].form.errors)
    assert not m.Inverter.objects.exists()


def test_adapter_types_are_read_only(staff_client: Client) -> None:
    response = staff_client.post(_url(m.AdapterType, "change", "pytes"), {"name": "x"})
    assert response.status_code == 403
    assert m.AdapterType.objects.get(pk="pytes").name == "Pytes Battery Adapter"


def test_anonymous_user_is_sent_to_login(client: Client) -> None:
    for model in (m.System, m.Adapter):
        response = client.get(_url(model, "changelist"))
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
