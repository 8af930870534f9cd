"""The simulated installation behind ``make run``: simulators for every configured adapter.

``DemoRig`` starts one simulator per enabled adapter, on loopback (Modbus TCP, RTU over TCP,
the JK gateway) or on a pty (RTU, the Pytes console), and points the adapter's config at it.
Values come from one plant per inverter (same origin, different sizes); a meter sees the sum
of the plants it measures, and a pack follows the plant of the array it is attached to.
The choice of plant depends only on the catalog and the origin, so the Celery worker can
rebuild the same plants for the Bluetooth packs it simulates in-process.
"""

from __future__ import annotations

import logging
import zlib
from datetime import datetime, timedelta
from typing import Any

from adapters.jkbms_tcpip.attribution import MASTER_ADDRESS
from adapters.simulators.jkbms import JkGatewaySimulator
from adapters.simulators.modbus import IammeterSimulator, PowdriveSimulator, SenergySimulator
from adapters.simulators.plant import Plant, PlantParams, PlantSum
from adapters.simulators.pytes import PytesSimulator
from catalog import models as catalog
from catalog.services import save_entity

log = logging.getLogger(__name__)

MODBUS_SIMULATORS: dict[str, Any] = {
    "powdrive": PowdriveSimulator, "senergy": SenergySimulator, "iammeter": IammeterSimulator}
JK_MASTER_CYCLE_S = 1.0  # how often the simulated JK-PB master polls its bus (passive mode)


class DemoPlants:
    """One deterministic plant per inverter, all sharing ``origin``."""

    def __init__(self, origin: datetime) -> None:
        self.origin = origin
        self._plants: dict[str, Plant] = {}
        ids = sorted(catalog.Inverter.objects.values_list("pk", flat=True))
        for n, inverter_id in enumerate(ids):
            params = PlantParams(pv_peak_w=4000.0 + 1500.0 * (n % 3), battery_kwh=8.0 + 4 * (n % 2),
                                 base_load_w=350.0 + 100.0 * n, seed=n + 1)
            self._plants[inverter_id] = Plant(params, start=origin)
        self._fallback = Plant(PlantParams(seed=99), start=origin)

    def for_inverter(self, inverter_id: str) -> Plant:
        return self._plants.get(inverter_id, self._fallback)

    def for_meter(self, meter: catalog.Meter) -> PlantSum:
        inverters = catalog.Inverter.objects.filter(system_id=meter.system_id)
        if meter.array_id:
            inverters = inverters.filter(array_id=meter.array_id)
        plants = [self.for_inverter(i) for i in inverters.order_by("pk").values_list("pk", flat=True)]
        return PlantSum(plants or [self._fallback])

    def for_pack(self, pack_id: str) -> Plant:
        pack = catalog.BatteryPack.objects.get(pk=pack_id)
        attachment = catalog.BatteryArrayAttachment.objects.filter(
            battery_array_id=pack.battery_array_id, detached_at__isnull=True).first()
        if attachment is not None:
            first = (catalog.Inverter.objects.filter(array_id=attachment.inverter_array_id)
                     .order_by("pk").values_list("pk", flat=True).first())
            if first:
                return self.for_inverter(first)
        return self._fallback


class DemoRig:
    """Simulators for the configured adapters; ``start()`` rewires the adapters to them."""

    def __init__(self, origin: datetime) -> None:
        self.plants = DemoPlants(origin)
        self.simulators: list[Any] = []
        self.by_adapter: dict[str, Any] = {}  # adapter id → the simulator behind it

    def start(self) -> list[str]:
        """Start a simulator per enabled adapter; returns one line per adapter for the console."""
        lines = []
        for adapter in catalog.Adapter.objects.filter(enabled=True).order_by("pk"):
            config, where = self._simulate(adapter)
            if config is None:
                lines.append(f"  {adapter.adapter_id:<36} {adapter.adapter_type_id:<12} {where}")
                continue
            adapter.config_json = config
            save_entity(adapter)
            self.by_adapter[adapter.adapter_id] = self.simulators[-1]
            lines.append(f"  {adapter.adapter_id:<36} {adapter.adapter_type_id:<12} {where}")
        return lines

    def stop(self) -> None:
        for simulator in self.simulators:
            try:
                simulator.stop()
            except Exception:  # stopping is best effort: the process is exiting
                log.exception("could not stop %s", simulator)
        self.simulators.clear()
        self.by_adapter.clear()

    def _plant_for(self, adapter: catalog.Adapter) -> Plant | PlantSum:
        device = adapter.device_id or ""
        if adapter.device_type == "meter":
            return self.plants.for_meter(catalog.Meter.objects.get(pk=device))
        if adapter.device_type == "battery_pack":
            return self.plants.for_pack(device)
        return self.plants.for_inverter(device)

    def _simulate(self, adapter: catalog.Adapter) -> tuple[dict[str, Any] | None, str]:
        config = dict(adapter.config_json)
        kind = adapter.adapter_type_id
        plant: Any = self._plant_for(adapter)
        if kind in MODBUS_SIMULATORS:
            options = {"model": config["model"]} if kind == "iammeter" and "model" in config else {}
            # A stable serial per adapter (10 characters, as Deye-family units have).
            serial = f"SIM{zlib.crc32(adapter.adapter_id.encode()) % 10**7:07d}"
            sim = MODBUS_SIMULATORS[kind](plant, serial=serial, unit_id=int(config.get("unit_id", 1)),
                                          **options).start()
            self.simulators.append(sim)
            transport = config.get("transport", "tcp")
            if transport == "rtu":
                config["serial_port"] = sim.serve_rtu()
                return config, f"Modbus RTU on {config['serial_port']}"
            config["host"] = "127.0.0.1"
            config["port"] = sim.serve_rtu_over_tcp(0) if transport == "rtu_over_tcp" else sim.serve_tcp(0)
            return config, f"{transport} on 127.0.0.1:{config['port']}"
        if kind == "pytes":
            sim = PytesSimulator(plant, batteries=int(config.get("batteries", 2)),
                                 cells_per_battery=int(config.get("cells_per_battery", 16))).start()
            self.simulators.append(sim)
            config["serial_port"] = sim.path
            return config, f"console on {sim.path}"
        if kind == "jkbms_tcpip":
            addresses = config.get("addresses") or list(range(1, int(config.get("batteries", 1)) + 1))
            # A passive listener hears another master's polling, so the simulated bus has one,
            # as a real JK-PB bus does: at address 0, itself a battery of the pack.
            passive = config.get("mode") == "passive"
            sim = JkGatewaySimulator(plant, addresses=[a for a in addresses if a != MASTER_ADDRESS],
                                     cells_per_battery=int(config.get("cells_per_battery", 16)),
                                     master_interval_s=JK_MASTER_CYCLE_S if passive else None).start()
            self.simulators.append(sim)
            config.pop("serial_port", None)  # the simulator is a TCP gateway, also for a USB-adapter config
            config["host"], config["port"] = "127.0.0.1", sim.port
            master = ", a bus master polling it (passive mode)" if passive else ""
            return config, f"JK gateway on 127.0.0.1:{sim.port}{master}"
        if kind == "jkbms_ble":
            return None, "simulated Bluetooth inside the worker"
        return None, "no simulator"


def enable_simulated_ble(origin: datetime) -> int:
    """Make every jkbms_ble driver in this process talk to simulated BMSes; returns how many.

    Called in Celery worker processes of the demo, where no Bluetooth radio exists.
    """
    from adapters.jkbms_ble import driver as ble_driver
    from adapters.simulators.jkbms_ble import FakeBleakClient, fake_pack

    plants = DemoPlants(origin)
    count = 0
    for adapter in catalog.Adapter.objects.filter(adapter_type_id="jkbms_ble", enabled=True):
        config = adapter.config_json
        fake_pack(plants.for_pack(adapter.device_id or ""), config["bt_addresses"],
                  layout="24s" if config.get("layout") == "24s" else "32s",
                  cells=int(config.get("cells_per_battery", 16)))
        count += 1
    ble_driver.DEFAULT_CLIENT_FACTORY = FakeBleakClient
    return count


def seed_history(plants: DemoPlants, start: datetime, end: datetime, step_s: int = 60) -> int:
    """Write the demo installation's past from the plant model, so charts have data at once.

    One sample per ``step_s`` from ``start`` to ``end`` for every inverter, meter and pack,
    built from the same plant the simulators serve (counters included, so rollups use them).
    Returns the rows written. Live polling takes over from ``end``.
    """
    from adapters.readings import InverterReading, MeterReading
    from adapters.simulators.modbus_devices import counters
    from adapters.simulators.plant import PlantState
    from telemetry import ingest
    from telemetry.models import BatteryBankSample

    def midnight(state_ts: datetime, plant: Plant | PlantSum) -> PlantState:
        offset = timedelta(hours=plant.params.utc_offset_h)
        local = (state_ts + offset).replace(hour=0, minute=0, second=0, microsecond=0) - offset
        return plant.state(max(local, plants.origin))

    inverters = [(i, plants.for_inverter(i.pk)) for i in catalog.Inverter.objects.all()]
    meters = [(m, plants.for_meter(m)) for m in catalog.Meter.objects.filter(adapter__isnull=False)]
    packs = [(p, plants.for_pack(p.pk))
             for p in catalog.BatteryPack.objects.filter(adapter_links__isnull=False).distinct()]
    rows: list[Any] = []
    ts = start
    while ts < end:
        for inverter, plant in inverters:
            state = plant.state(ts)
            reading = InverterReading(
                pv_power_w=state.pv_w, load_power_w=state.load_w, grid_power_w=state.grid_w,
                batt_power_w=state.battery_w, soc=round(state.soc, 1), batt_voltage_v=52.0,
                batt_current_a=round(state.battery_w / 52.0, 2),
                **counters(state, midnight(ts, plant)))  # type: ignore[arg-type]
            rows += ingest.inverter_rows(inverter, reading, ts)
        for meter, meter_plant in meters:
            state = meter_plant.state(ts)
            rows += ingest.meter_rows(meter, MeterReading(
                grid_power_w=state.grid_w, grid_voltage_v=230.0, grid_frequency_hz=50.0,
                grid_import_wh=state.import_kwh * 1000, grid_export_wh=state.export_kwh * 1000), ts)
        for pack, pack_plant in packs:
            state = pack_plant.state(ts)
            rows.append(BatteryBankSample(
                ts=ts, pack_id=pack.pk, battery_array_id=pack.battery_array_id, system_id=pack.system_id,
                voltage=52.0, current=round(state.battery_w / 52.0, 2), power_w=state.battery_w,
                soc=round(state.soc, 1), temperature=25.0))
        ts += timedelta(seconds=step_s)
    by_model: dict[Any, list[Any]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    for model, batch in by_model.items():
        model.objects.bulk_create(batch, ignore_conflicts=True, batch_size=1000)
    return len(rows)
