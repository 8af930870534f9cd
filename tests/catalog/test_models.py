"""Catalog constraints, cascades and the ancestor-consistency rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog import models as m
from catalog.services import save_entity
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_inverter_takes_its_system_from_its_array() -> None:
    sys = f.system()
    inv = f.inverter("inv1", f.array("array1", sys))
    assert m.Inverter.objects.get(pk="inv1").system_id == "system" == inv.system_id


def test_inverter_whose_system_disagrees_with_its_array_is_rejected() -> None:
    f.system("north")
    south = f.system("south")
    arr = f.array("array1", south)
    with pytest.raises(ValidationError) as err:
        save_entity(m.Inverter(inverter_id="inv1", array=arr, system_id="north", name="x"))
    assert "array's system" in err.value.message_dict["system"][0]
    assert not m.Inverter.objects.exists()


def test_cell_ancestors_must_match_its_battery() -> None:
    sys = f.system()
    ba1, ba2 = f.battery_array("ba1", sys), f.battery_array("ba2", sys)
    pack = f.pack("p1", ba1, batteries=1, cells=1)
    f.pack("p2", ba2)
    battery = pack.batteries.get()
    with pytest.raises(ValidationError) as err:
        save_entity(m.BatteryCell(cell_id="c_bad", battery=battery, pack_id="p2", cell_index=5))
    assert "pack_id 'p2' does not match" in err.value.message_dict["pack"][0]


def test_moving_a_pack_moves_its_batteries_and_cells() -> None:
    sys = f.system()
    ba1, ba2 = f.battery_array("ba1", sys), f.battery_array("ba2", sys)
    pack = f.pack("p1", ba1, batteries=2, cells=3)
    pack.battery_array = ba2
    save_entity(pack)
    assert set(m.Battery.objects.values_list("battery_array_id", flat=True)) == {"ba2"}
    assert set(m.BatteryCell.objects.values_list("battery_array_id", flat=True)) == {"ba2"}


def test_battery_and_cell_indexes_are_unique_within_their_parent() -> None:
    sys = f.system()
    pack = f.pack("p1", f.battery_array("ba1", sys), batteries=1, cells=2)
    battery = pack.batteries.get()
    with pytest.raises(ValidationError):
        save_entity(m.Battery(battery_id="dup", pack=pack, battery_index=0))
    with pytest.raises(ValidationError):
        save_entity(m.BatteryCell(cell_id="dupc", battery=battery, cell_index=1))
    with pytest.raises(IntegrityError), transaction.atomic():
        m.Battery.objects.create(battery_id="dup2", pack=pack, battery_array_id="ba1", system=sys,
                                 battery_index=0)


def test_one_active_attachment_per_battery_array() -> None:
    sys = f.system()
    a1, a2 = f.array("a1", sys), f.array("a2", sys)
    ba = f.battery_array("ba1", sys)
    f.attach(ba, a1)
    with pytest.raises(ValidationError) as err:
        f.attach(ba, a2, since=datetime(2025, 6, 1, tzinfo=UTC))
    assert "already has an active attachment" in str(err.value)
    # Detaching the first makes room for the second, and the history is kept.
    first = m.BatteryArrayAttachment.objects.get()
    first.detached_at = datetime(2025, 6, 1, tzinfo=UTC)
    save_entity(first)
    f.attach(ba, a2, since=datetime(2025, 6, 1, tzinfo=UTC))
    assert m.BatteryArrayAttachment.objects.filter(battery_array=ba).count() == 2


def test_one_active_attachment_per_inverter_array() -> None:
    sys = f.system()
    arr = f.array("a1", sys)
    f.attach(f.battery_array("ba1", sys), arr)
    with pytest.raises(ValidationError):
        f.attach(f.battery_array("ba2", sys), arr)


def test_meter_attachment_target_follows_its_array() -> None:
    sys = f.system()
    arr = f.array("a1", sys)
    assert f.meter("m1", sys).attachment_target == "system"
    assert f.meter("m2", sys, arr).attachment_target == "a1"
    assert f.meter("m3", sys, attachment_target="home").attachment_target == "system"
    with pytest.raises(ValidationError) as err:
        f.meter("m4", sys, arr, attachment_target="system")
    assert "attachment_target" in err.value.message_dict


def test_meter_on_an_array_of_another_system_is_rejected() -> None:
    f.system("north")
    arr = f.array("a1", f.system("south"))
    with pytest.raises(ValidationError):
        save_entity(m.Meter(meter_id="m1", system_id="north", array=arr, name="x"))


def test_deleting_a_system_cascades_to_everything_under_it() -> None:
    f.small_hierarchy()
    assert m.BatteryCell.objects.count() == 2 * 16 + 4 * 15
    m.System.objects.get(pk="system").delete()
    for model in (m.InverterArray, m.Inverter, m.BatteryArray, m.BatteryPack, m.Battery,
                  m.BatteryCell, m.Meter, m.BatteryArrayAttachment):
        assert not model.objects.exists(), model.__name__


def test_deleting_an_adapter_keeps_the_inverter() -> None:
    sys = f.system()
    ad = f.adapter("pd_ad", "powdrive", {"transport": "tcp", "host": "127.0.0.1"})
    f.inverter("inv1", f.array("a1", sys), adapter=ad)
    ad.delete()
    assert m.Inverter.objects.get(pk="inv1").adapter_id is None


def test_deleting_an_array_detaches_its_meters() -> None:
    sys = f.system()
    arr = f.array("a1", sys)
    f.meter("m1", sys, arr)
    arr.delete()
    assert m.Meter.objects.get(pk="m1").array_id is None


def test_adapter_type_in_use_cannot_be_deleted() -> None:
    f.adapter("pd_ad", "powdrive", {"transport": "tcp", "host": "127.0.0.1"})
    with pytest.raises(IntegrityError), transaction.atomic():
        m.AdapterType.objects.filter(pk="powdrive").delete()


def test_saving_an_inverter_records_the_device_on_its_adapter() -> None:
    sys = f.system()
    ad = f.adapter("pd_ad", "powdrive", {"transport": "tcp", "host": "127.0.0.1"})
    f.inverter("inv1", f.array("a1", sys), adapter=ad)
    ad.refresh_from_db()
    assert (ad.device_id, ad.device_type, ad.device_category) == ("inv1", "inverter", "inverter")


def test_a_meter_adapter_cannot_drive_an_inverter() -> None:
    sys = f.system()
    ad = f.adapter("meter_ad", "iammeter", {"transport": "tcp", "host": "127.0.0.1"})
    with pytest.raises(ValidationError) as err:
        f.inverter("inv1", f.array("a1", sys), adapter=ad)
    assert "not a inverter adapter" in str(err.value) or "meter adapter" in str(err.value)


def test_ids_must_be_simple_text() -> None:
    with pytest.raises(ValidationError) as err:
        f.system("bad id!")
    assert "system_id" in err.value.message_dict


def test_unknown_timezone_is_rejected() -> None:
    with pytest.raises(ValidationError) as err:
        f.system("s1", timezone="Mars/Olympus")
    assert "timezone" in err.value.message_dict
