"""Sample tables (spec §4.2) and device status.

Samples are keyed on (ts, device) with a composite primary key, so a re-delivered poll
adds nothing. ``ts`` is UTC. Columns beyond the spec's are marked "added" with the reason.
Power columns the spec declares INTEGER are whole watts.

Indexes (docs/energy.md, "Storage"): a sample table carries its primary key and the spec's
§4.4 indexes, nothing else, because on a year-long installation every index costs as much disk
as a good part of the table. Foreign keys have no index of their own (``db_index=False``): the
spec's ``system_id``/``array_id`` indexes already cover those two, and nothing reads samples by
their other ancestors. The spec's ``(ts DESC)`` index is left out: the primary key starts with
``ts``, so it would repeat the key's own order. Every read goes through the key: a time range,
or one instant (``ts = …``) and a device.

Foreign keys the database enforces (see telemetry/migrations/0005): only a sample's own
device on the tables with one row per poll (``inverter``, ``meter``, ``pack``, and ``array``
and ``system`` on the derived tables). The other foreign keys are kept by the writer, not
checked by the database (``db_constraint=False``): the denormalized ancestors (``array``,
``system``, ``battery_array``, ``pack``), whose check proves only that some such row exists,
not that it is this device's; and the battery and cell of unit and cell rows, which take
their ids from the same catalog snapshot as their pack row and are written in its statement
(one transaction), so the pack row's check turns down a tick of a deleted pack whole.
Checked per row they were most of PostgreSQL's time for a pack tick (a check per cell row
and column, each locking its catalog row). Deleting a device still deletes its samples:
``on_delete`` is Django's, which deletes the rows of every relation, enforced or not.
"""

from __future__ import annotations

from django.db import models

from catalog import models as catalog
from telemetry.choices import DeviceKind, DeviceState, GridSource


class Sample(models.Model):
    """A row of a sample table: a device's values at one UTC instant."""

    ts = models.DateTimeField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.db_table} {self.pk}"


class EnergySample(Sample):
    """One poll of an inverter (table ``energy_samples``)."""

    pk = models.CompositePrimaryKey("ts", "inverter")
    inverter = models.ForeignKey(catalog.Inverter, on_delete=models.CASCADE, db_column="inverter_id",
                                 db_index=False, related_name="samples")
    array = models.ForeignKey(catalog.InverterArray, on_delete=models.CASCADE, db_column="array_id",
                              db_index=False, db_constraint=False, related_name="+")
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id",
                               db_index=False, db_constraint=False, related_name="+")
    pv_power_w = models.IntegerField(null=True)
    load_power_w = models.IntegerField(null=True)
    grid_power_w = models.IntegerField(null=True)
    batt_voltage_v = models.FloatField(null=True)
    batt_current_a = models.FloatField(null=True)
    soc = models.FloatField(null=True)
    battery_soc = models.FloatField(null=True)
    battery_voltage_v = models.FloatField(null=True)
    battery_current_a = models.FloatField(null=True)
    inverter_mode = models.IntegerField(null=True)
    inverter_temp_c = models.FloatField(null=True)
    grid_import_wh = models.FloatField(null=True)
    grid_export_wh = models.FloatField(null=True)
    # added: battery power (+ = charging), which rollups integrate when there are no counters
    batt_power_w = models.IntegerField(null=True)
    # added: grid voltage and frequency, shown on the dashboard
    grid_voltage_v = models.FloatField(null=True)
    grid_frequency_hz = models.FloatField(null=True)
    # added: the device's own energy counters (kWh); rollups prefer counter deltas
    pv_today_kwh = models.FloatField(null=True)
    load_today_kwh = models.FloatField(null=True)
    batt_charge_today_kwh = models.FloatField(null=True)
    batt_discharge_today_kwh = models.FloatField(null=True)
    grid_import_today_kwh = models.FloatField(null=True)
    grid_export_today_kwh = models.FloatField(null=True)
    pv_total_kwh = models.FloatField(null=True)
    load_total_kwh = models.FloatField(null=True)
    batt_charge_total_kwh = models.FloatField(null=True)
    batt_discharge_total_kwh = models.FloatField(null=True)
    grid_import_total_kwh = models.FloatField(null=True)
    grid_export_total_kwh = models.FloatField(null=True)
    # added: which adapter produced the reading
    adapter_id = models.CharField(max_length=64, null=True)

    class Meta:
        db_table = "energy_samples"
        indexes = [
            models.Index(fields=["system"], name="idx_energy_samples_system_id"),
            models.Index(fields=["array"], name="idx_energy_samples_array_id"),
        ]


class ArraySample(Sample):
    """An inverter array's totals at one tick, derived from its inverters (``array_samples``)."""

    pk = models.CompositePrimaryKey("ts", "array")
    array = models.ForeignKey(catalog.InverterArray, on_delete=models.CASCADE, db_column="array_id",
                              db_index=False, related_name="samples")
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id",
                               db_index=False, db_constraint=False, related_name="+")
    pv_power_w = models.IntegerField(null=True)
    load_power_w = models.IntegerField(null=True)
    grid_power_w = models.IntegerField(null=True)
    batt_power_w = models.IntegerField(null=True)
    batt_soc_pct = models.FloatField(null=True)
    batt_voltage_v = models.FloatField(null=True)
    batt_current_a = models.FloatField(null=True)
    # added: how many inverters had a fresh sample, of how many (a partial sum is visible)
    inverters_reporting = models.IntegerField(null=True)
    inverters_total = models.IntegerField(null=True)

    class Meta:
        db_table = "array_samples"
        indexes = [
            models.Index(fields=["system"], name="idx_array_samples_system_id"),
        ]


class SystemSample(Sample):
    """Added table: a system's totals at one tick (arrays summed; grid from the meter if any)."""

    pk = models.CompositePrimaryKey("ts", "system")
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id",
                               db_index=False, related_name="samples")
    pv_power_w = models.IntegerField(null=True)
    load_power_w = models.IntegerField(null=True)
    grid_power_w = models.IntegerField(null=True)
    batt_power_w = models.IntegerField(null=True)
    batt_soc_pct = models.FloatField(null=True)
    grid_source = models.CharField(max_length=16, choices=GridSource.choices, null=True)

    class Meta:
        db_table = "system_samples"


class BatteryBankSample(Sample):
    """One poll of a battery pack (table ``battery_bank_samples``)."""

    pk = models.CompositePrimaryKey("ts", "pack")
    pack = models.ForeignKey(catalog.BatteryPack, on_delete=models.CASCADE, db_column="pack_id",
                             db_index=False, related_name="samples")
    battery_array = models.ForeignKey(catalog.BatteryArray, on_delete=models.CASCADE,
                                      db_column="battery_array_id", db_index=False, db_constraint=False,
                                      related_name="+")
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id",
                               db_index=False, db_constraint=False, related_name="+")
    voltage = models.FloatField(null=True)
    current = models.FloatField(null=True)
    temperature = models.FloatField(null=True)
    soc = models.FloatField(null=True)
    batteries_count = models.IntegerField(null=True)
    cells_per_battery = models.IntegerField(null=True)
    # added: pack power in W (+ = charging): the sum of the units' V·I
    power_w = models.FloatField(null=True)
    # added: cycle count reported by the BMS
    cycles = models.IntegerField(null=True)
    # added: which adapter produced the reading (failover is visible)
    adapter_id = models.CharField(max_length=64, null=True)

    class Meta:
        db_table = "battery_bank_samples"
        indexes = [
            models.Index(fields=["system"], name="idx_battery_bank_samples_system_id"),
        ]


class PackScopedSample(Sample):
    """A unit or cell row: its pack, battery array and system, and the unit number (``power``)."""

    pack = models.ForeignKey(catalog.BatteryPack, on_delete=models.CASCADE, db_column="pack_id",
                             db_index=False, db_constraint=False, related_name="+")
    battery_array = models.ForeignKey(catalog.BatteryArray, on_delete=models.CASCADE,
                                      db_column="battery_array_id", db_index=False, db_constraint=False,
                                      related_name="+")
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id",
                               db_index=False, db_constraint=False, related_name="+")
    power = models.IntegerField()

    class Meta:
        abstract = True


class BatteryUnitSample(PackScopedSample):
    """One battery unit of a pack at one poll (``battery_unit_samples``).

    ``power`` is the spec's (and the Pylontech console's) unit number column, 1-based, not watts;
    watts are in the added ``power_w``.
    """

    pk = models.CompositePrimaryKey("ts", "battery")
    battery = models.ForeignKey(catalog.Battery, on_delete=models.CASCADE, db_column="battery_id",
                                db_index=False, db_constraint=False, related_name="samples")
    voltage = models.FloatField(null=True)
    current = models.FloatField(null=True)
    temperature = models.FloatField(null=True)
    soc = models.FloatField(null=True)
    basic_st = models.CharField(max_length=32, null=True)
    volt_st = models.CharField(max_length=32, null=True)
    current_st = models.CharField(max_length=32, null=True)
    temp_st = models.CharField(max_length=32, null=True)
    soh_st = models.CharField(max_length=32, null=True)
    coul_st = models.CharField(max_length=32, null=True)
    heater_st = models.CharField(max_length=32, null=True)
    bat_events = models.IntegerField(null=True)
    power_events = models.IntegerField(null=True)
    sys_events = models.IntegerField(null=True)
    # added: unit power in W (V·I, + = charging) and cycle count
    power_w = models.FloatField(null=True)
    cycles = models.IntegerField(null=True)

    class Meta:
        db_table = "battery_unit_samples"
        indexes = [
            models.Index(fields=["system"], name="idx_battery_unit_samples_system_id"),
        ]


class BatteryCellSample(PackScopedSample):
    """One cell at one poll (``battery_cell_samples``); ``power`` is the unit number, ``cell`` the index."""

    pk = models.CompositePrimaryKey("ts", "cell_ref")
    cell_ref = models.ForeignKey(catalog.BatteryCell, on_delete=models.CASCADE, db_column="cell_id",
                                 db_index=False, db_constraint=False, related_name="samples")
    battery = models.ForeignKey(catalog.Battery, on_delete=models.CASCADE, db_column="battery_id",
                                db_index=False, db_constraint=False, related_name="+")
    cell = models.IntegerField()
    voltage = models.FloatField(null=True)
    temperature = models.FloatField(null=True)
    soc = models.FloatField(null=True)
    volt_st = models.CharField(max_length=32, null=True)
    temp_st = models.CharField(max_length=32, null=True)
    # added: the lowest and highest reading within the row's detail interval (the row holds the
    # latest reading; see telemetry.ingest), so a short excursion is never lost
    voltage_min = models.FloatField(null=True)
    voltage_max = models.FloatField(null=True)
    temperature_min = models.FloatField(null=True)
    temperature_max = models.FloatField(null=True)

    class Meta:
        db_table = "battery_cell_samples"
        indexes = [
            models.Index(fields=["system"], name="idx_battery_cell_samples_system_id"),
        ]


class MeterSample(Sample):
    """One poll of an energy meter (table ``meter_samples``)."""

    pk = models.CompositePrimaryKey("ts", "meter")
    meter = models.ForeignKey(catalog.Meter, on_delete=models.CASCADE, db_column="meter_id",
                              db_index=False, related_name="samples")
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id",
                               db_index=False, db_constraint=False, related_name="+")
    array = models.ForeignKey(catalog.InverterArray, on_delete=models.SET_NULL, db_column="array_id",
                              null=True, db_index=False, db_constraint=False, related_name="+")
    grid_power_w = models.IntegerField(null=True)
    grid_voltage_v = models.FloatField(null=True)
    grid_current_a = models.FloatField(null=True)
    grid_frequency_hz = models.FloatField(null=True)
    grid_import_wh = models.BigIntegerField(null=True)
    grid_export_wh = models.BigIntegerField(null=True)
    energy_kwh = models.FloatField(null=True)
    power_factor = models.FloatField(null=True)
    voltage_phase_a = models.FloatField(null=True)
    voltage_phase_b = models.FloatField(null=True)
    voltage_phase_c = models.FloatField(null=True)
    current_phase_a = models.FloatField(null=True)
    current_phase_b = models.FloatField(null=True)
    current_phase_c = models.FloatField(null=True)
    power_phase_a = models.IntegerField(null=True)
    power_phase_b = models.IntegerField(null=True)
    power_phase_c = models.IntegerField(null=True)
    # added: which adapter produced the reading
    adapter_id = models.CharField(max_length=64, null=True)

    class Meta:
        db_table = "meter_samples"
        indexes = [
            models.Index(fields=["system"], name="idx_meter_samples_system_id"),
        ]


class DeviceStatus(models.Model):
    """Polling health of one device: what the dashboard shows next to every value.

    ``state`` is stored as of the last poll; selectors also age it (a device whose last good
    reading is older than a few intervals is shown stale even if no poll ran since).
    """

    device_type = models.CharField(max_length=16, choices=DeviceKind.choices)
    device_id = models.CharField(max_length=64)
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="device_statuses")
    state = models.CharField(max_length=16, choices=DeviceState.choices, default=DeviceState.UNKNOWN)
    last_seen = models.DateTimeField(null=True, help_text="Time of the last good reading")
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True)
    consecutive_failures = models.IntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, help_text="Earliest next poll (later while backing off)")
    active_adapter_id = models.CharField(max_length=64, blank=True, default="")
    last_duration_ms = models.IntegerField(null=True)
    poll_interval_s = models.FloatField(default=10.0)
    collector = models.CharField(max_length=64, blank=True, default="",
                                 help_text="The collector that polled it last")
    missed_polls = models.IntegerField(default=0, help_text="Polls that were due but not made: expired "
                                       "in the queue, bus busy, collector down, dispatcher stalled")
    last_missed_at = models.DateTimeField(null=True)
    last_missed_reason = models.CharField(max_length=200, blank=True, default="")
    pending_slot = models.DateTimeField(null=True, help_text="Slot of a poll that is queued or running")
    permanent_error = models.BooleanField(default=False, help_text="The last error cannot clear by "
                                          "retrying (wrong device, bad config): not retried until the "
                                          "adapter is changed")
    config_fingerprint = models.CharField(max_length=40, blank=True, default="",
                                          help_text="The adapters' configuration the last poll used")
    flagged_values = models.IntegerField(
        default=0, help_text="Values the device sent that could not be proved (garbled, impossible), "
        "left unknown in the stored readings; counted since the device was first polled")
    last_flag = models.TextField(blank=True, default="", help_text="Why the most recent such value was "
                                 "left unknown")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "device_status"
        verbose_name_plural = "device statuses"
        ordering = ["system", "device_type", "device_id"]
        constraints = [models.UniqueConstraint(fields=["device_type", "device_id"],
                                               name="uq_device_status_device")]
        # "Has this slot of the system still a poll to report?", asked after every poll task:
        # only the devices with a poll queued or running are in it, so it stays a few rows.
        indexes = [models.Index(fields=["system", "pending_slot"], name="ix_device_status_pending",
                                condition=models.Q(pending_slot__isnull=False))]

    def __str__(self) -> str:
        return f"{self.device_type} {self.device_id}: {self.state}"
