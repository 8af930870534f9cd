"""The default structure of spec §6.5, created once and never over an existing configuration."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from catalog import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = StringIO()
    call_command("bootstrap", stdout=out)
    return out.getvalue()


def test_bootstrap_creates_the_default_structure() -> None:
    output = _run()
    assert "created system system" in output
    sys = m.System.objects.get()
    assert (sys.system_id, sys.name, sys.timezone) == ("system", "My Solar System", "Asia/Karachi")
    assert m.InverterArray.objects.get().array_id == "array1"
    assert m.BatteryArray.objects.get().battery_array_id == "battery_array1"
    att = m.BatteryArrayAttachment.objects.get()
    assert (att.battery_array_id, att.inverter_array_id, att.detached_at) == (
        "battery_array1", "array1", None)


def test_bootstrap_twice_changes_nothing() -> None:
    _run()
    before = [list(model.objects.values()) for model in (m.System, m.InverterArray, m.BatteryArray,
                                                         m.BatteryArrayAttachment)]
    assert "nothing changed" in _run()
    after = [list(model.objects.values()) for model in (m.System, m.InverterArray, m.BatteryArray,
                                                        m.BatteryArrayAttachment)]
    assert before == after


def test_bootstrap_leaves_an_existing_configuration_alone() -> None:
    sys = f.system("home", name="Cabin")
    f.array("roof", sys)
    assert "nothing changed" in _run()
    assert list(m.System.objects.values_list("system_id", flat=True)) == ["home"]
    assert list(m.InverterArray.objects.values_list("array_id", flat=True)) == ["roof"]
    assert not m.BatteryArray.objects.exists()
