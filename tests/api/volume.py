"""A system of any size, bulk-inserted, for tests that count queries against the number of devices."""

from __future__ import annotations

from django.utils import timezone

from catalog import models as m
from telemetry import models as t
from tests import factories as f


def system_of(n: int) -> None:
    """A system with ``n`` inverters, packs (2 units of 2 cells) and meters, each polled once.

    Rows are bulk-inserted with their ancestor ids spelled out: this is volume for the query
    count, and the service-written fixture covers the tree's content.
    """
    sys = f.system("site")
    arr = f.array("site_array", sys)
    ba = f.battery_array("site_ba", sys)
    f.attach(ba, arr)
    ids = range(n)
    m.Inverter.objects.bulk_create(m.Inverter(inverter_id=f"inv{i}", array=arr, system=sys, name="i")
                                   for i in ids)
    m.BatteryPack.objects.bulk_create(m.BatteryPack(pack_id=f"pack{i}", battery_array=ba, system=sys,
                                                    name="p") for i in ids)
    m.Battery.objects.bulk_create(m.Battery(battery_id=f"pack{i}_b{b}", pack_id=f"pack{i}", battery_array=ba,
                                            system=sys, battery_index=b) for i in ids for b in range(2))
    m.BatteryCell.objects.bulk_create(
        m.BatteryCell(cell_id=f"pack{i}_b{b}_c{c}", battery_id=f"pack{i}_b{b}", pack_id=f"pack{i}",
                      battery_array=ba, system=sys, cell_index=c)
        for i in ids for b in range(2) for c in range(2))
    m.Meter.objects.bulk_create(m.Meter(meter_id=f"meter{i}", system=sys, array=arr if i % 2 else None,
                                        name="m", type="grid") for i in ids)
    now = timezone.now()
    t.DeviceStatus.objects.bulk_create(
        t.DeviceStatus(device_type=kind, device_id=f"{prefix}{i}", system=sys, last_seen=now, state="online")
        for i in ids for kind, prefix in (("inverter", "inv"), ("battery_pack", "pack"), ("meter", "meter")))
    t.EnergySample.objects.bulk_create(t.EnergySample(ts=now, inverter_id=f"inv{i}", array=arr, system=sys,
                                                      pv_power_w=1000 + i) for i in ids)
    t.BatteryBankSample.objects.bulk_create(t.BatteryBankSample(ts=now, pack_id=f"pack{i}", battery_array=ba,
                                                                system=sys, soc=50.0) for i in ids)
    t.MeterSample.objects.bulk_create(t.MeterSample(ts=now, meter_id=f"meter{i}", system=sys, grid_power_w=-i)
                                      for i in ids)
