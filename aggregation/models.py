"""Hourly and daily rollup tables (spec §4.3, §8.3; indexes §4.4).

Table and column names are the spec's. ``date`` (``day`` in ``meter_daily``) is the LOCAL date in
the system's timezone and ``hour_start`` the local hour 0-23. Added columns, on every table:
``source`` (counter, integrated or mixed) and ``coverage`` (0..1, the share of the bucket that
samples cover), and ``updated_at``. Hourly tables also get ``fold`` and ``start_utc``: in the
autumn DST change the repeated local hour is stored twice, as fold 0 (first occurrence) and
fold 1 (second), so ``fold`` is part of their primary key (see docs/energy.md).
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from aggregation.choices import GridSource, Source
from aggregation.tier_models import (
    TIER_MODELS,
    ArrayTier,
    CellTier,
    InverterTier,
    MeterTier,
    PackTier,
    SystemTier,
)
from catalog import models as catalog
from telemetry.choices import DeviceKind

__all__ = ["TIER_MODELS", "ArrayTier", "CellTier", "InverterTier", "MeterTier", "PackTier", "SystemTier"]


class Rollup(models.Model):
    """Provenance and timestamps shared by every rollup row."""

    source = models.CharField(max_length=12, choices=Source.choices, default=Source.NONE,
                              db_default=Source.NONE, help_text="Where the energy figures came from")
    coverage = models.FloatField(default=0.0, db_default=0.0,
                                 help_text="Share of the bucket covered by samples, 0..1")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.db_table} {self.pk}"


class HourBucket(Rollup):
    """A local hour: ``date`` + ``hour_start`` (+ ``fold`` for the repeated autumn hour)."""

    date = models.DateField(help_text="Local date in the system's timezone")
    hour_start = models.IntegerField(help_text="Local hour, 0-23")
    fold = models.SmallIntegerField(default=0, db_default=0,
                                    help_text="1 for the second occurrence of a repeated local hour")
    start_utc = models.DateTimeField(help_text="UTC instant the hour starts")

    class Meta:
        abstract = True


class HourlyEnergy(HourBucket):
    """Energy flows of one hour (inverter, array and system hourly tables)."""

    solar_energy_kwh = models.FloatField(null=True)
    load_energy_kwh = models.FloatField(null=True)
    battery_charge_energy_kwh = models.FloatField(null=True)
    battery_discharge_energy_kwh = models.FloatField(null=True)
    grid_import_energy_kwh = models.FloatField(null=True)
    grid_export_energy_kwh = models.FloatField(null=True)
    avg_solar_power_w = models.FloatField(null=True)
    avg_load_power_w = models.FloatField(null=True)
    avg_battery_power_w = models.FloatField(null=True)
    avg_grid_power_w = models.FloatField(null=True)
    sample_count = models.IntegerField(null=True)

    class Meta:
        abstract = True


class DailySummary(Rollup):
    """The day's metrics (inverter, array and system daily tables)."""

    date = models.DateField(help_text="Local date in the system's timezone")
    day_of_year = models.IntegerField()
    year = models.IntegerField()
    pv_energy_kwh = models.FloatField(null=True)
    pv_max_power_w = models.FloatField(null=True)
    pv_avg_power_w = models.FloatField(null=True)
    pv_peak_hour = models.IntegerField(null=True)
    load_energy_kwh = models.FloatField(null=True)
    load_max_power_w = models.FloatField(null=True)
    load_avg_power_w = models.FloatField(null=True)
    load_peak_hour = models.IntegerField(null=True)
    battery_min_soc_pct = models.FloatField(null=True)
    battery_max_soc_pct = models.FloatField(null=True)
    battery_avg_soc_pct = models.FloatField(null=True)
    battery_cycles = models.FloatField(null=True)
    grid_energy_imported_kwh = models.FloatField(null=True)
    grid_energy_exported_kwh = models.FloatField(null=True)
    grid_max_import_w = models.FloatField(null=True)
    grid_max_export_w = models.FloatField(null=True)
    weather_factor = models.FloatField(null=True, help_text="PV energy ÷ best day of the trailing 30")
    sample_count = models.IntegerField(null=True)

    class Meta:
        abstract = True


def _fk(model: type[models.Model], column: str, *, null: bool = False) -> models.ForeignKey:
    """A rollup's device or ancestor: no index of its own (the table's key and its spec indexes
    serve every read, as on the sample tables; a cascade from a deleted device or ancestor reads
    the table once, which is small: a row per device and hour)."""
    on_delete = models.SET_NULL if null else models.CASCADE
    return models.ForeignKey(model, on_delete=on_delete, db_column=column, null=null, db_index=False,
                             related_name="+")


def _grid_source() -> models.CharField:
    return models.CharField(max_length=12, choices=GridSource.choices, null=True,
                            help_text="Grid figures from a meter or from the inverters")


def _idx(table: str, column: str) -> models.Index:
    if column == "date" or column == "day":
        return models.Index(models.F(column).desc(), name=f"idx_{table}_{column}")
    return models.Index(fields=[column.removesuffix("_id")], name=f"idx_{table}_{column}")


class InverterHourlyEnergy(HourlyEnergy):
    """One inverter's hour (table ``hourly_energy``)."""

    pk = models.CompositePrimaryKey("inverter", "date", "hour_start", "fold")
    inverter = _fk(catalog.Inverter, "inverter_id")
    array = _fk(catalog.InverterArray, "array_id")
    system = _fk(catalog.System, "system_id")

    class Meta:
        db_table = "hourly_energy"
        verbose_name_plural = "inverter hourly energy"
        indexes = [_idx("hourly_energy", c) for c in ("system_id", "array_id", "date")]


class ArrayHourlyEnergy(HourlyEnergy):
    """One inverter array's hour: the sum of its inverters (``array_hourly_energy``)."""

    pk = models.CompositePrimaryKey("array", "date", "hour_start", "fold")
    array = _fk(catalog.InverterArray, "array_id")
    system = _fk(catalog.System, "system_id")
    grid_source = _grid_source()

    class Meta:
        db_table = "array_hourly_energy"
        verbose_name_plural = "array hourly energy"
        indexes = [_idx("array_hourly_energy", c) for c in ("system_id", "date")]


class SystemHourlyEnergy(HourlyEnergy):
    """A system's hour: the sum of its arrays, grid from a system meter if any (``system_hourly_energy``)."""

    pk = models.CompositePrimaryKey("system", "date", "hour_start", "fold")
    system = _fk(catalog.System, "system_id")
    grid_source = _grid_source()

    class Meta:
        db_table = "system_hourly_energy"
        verbose_name_plural = "system hourly energy"
        indexes = [_idx("system_hourly_energy", "date")]


class InverterDailySummary(DailySummary):
    """One inverter's day (table ``daily_summary``)."""

    pk = models.CompositePrimaryKey("date", "inverter")
    inverter = _fk(catalog.Inverter, "inverter_id")
    array = _fk(catalog.InverterArray, "array_id")
    system = _fk(catalog.System, "system_id")

    class Meta:
        db_table = "daily_summary"
        verbose_name_plural = "inverter daily summaries"
        indexes = [_idx("daily_summary", c) for c in ("system_id", "array_id", "date")]


class ArrayDailySummary(DailySummary):
    """One inverter array's day (``array_daily_summary``)."""

    pk = models.CompositePrimaryKey("date", "array")
    array = _fk(catalog.InverterArray, "array_id")
    system = _fk(catalog.System, "system_id")
    grid_source = _grid_source()

    class Meta:
        db_table = "array_daily_summary"
        verbose_name_plural = "array daily summaries"
        indexes = [_idx("array_daily_summary", c) for c in ("system_id", "date")]


class SystemDailySummary(DailySummary):
    """A system's day (``system_daily_summary``)."""

    pk = models.CompositePrimaryKey("date", "system")
    system = _fk(catalog.System, "system_id")
    grid_source = _grid_source()

    class Meta:
        db_table = "system_daily_summary"
        verbose_name_plural = "system daily summaries"
        indexes = [_idx("system_daily_summary", "date")]


class MeterHourlyEnergy(HourBucket):
    """One meter's hour (``meter_hourly_energy``)."""

    pk = models.CompositePrimaryKey("meter", "date", "hour_start", "fold")
    meter = _fk(catalog.Meter, "meter_id")
    system = _fk(catalog.System, "system_id")
    array = _fk(catalog.InverterArray, "array_id", null=True)
    import_energy_kwh = models.FloatField(null=True, default=0.0, db_default=0.0)
    export_energy_kwh = models.FloatField(null=True, default=0.0, db_default=0.0)
    avg_power_w = models.FloatField(null=True)
    sample_count = models.IntegerField(null=True, default=0, db_default=0)

    class Meta:
        db_table = "meter_hourly_energy"
        verbose_name_plural = "meter hourly energy"
        indexes = [_idx("meter_hourly_energy", c) for c in ("system_id", "date")]


class MeterDaily(Rollup):
    """One meter's day (``meter_daily``; its local-date column is named ``day``)."""

    pk = models.CompositePrimaryKey("day", "meter")
    day = models.DateField(help_text="Local date in the system's timezone")
    meter = _fk(catalog.Meter, "meter_id")
    system = _fk(catalog.System, "system_id")
    array = _fk(catalog.InverterArray, "array_id", null=True)
    import_energy_kwh = models.FloatField(default=0.0, db_default=0.0)
    export_energy_kwh = models.FloatField(default=0.0, db_default=0.0)
    net_energy_kwh = models.FloatField(default=0.0, db_default=0.0)
    max_import_power_w = models.IntegerField(null=True)
    max_export_power_w = models.IntegerField(null=True)
    avg_voltage_v = models.FloatField(null=True)
    avg_current_a = models.FloatField(null=True)
    avg_frequency_hz = models.FloatField(null=True)
    sample_count = models.IntegerField(null=True, default=0, db_default=0)

    class Meta:
        db_table = "meter_daily"
        verbose_name_plural = "meter daily"
        indexes = [_idx("meter_daily", c) for c in ("system_id", "day")]


class BatteryBankHourly(HourBucket):
    """One battery pack's hour (``battery_bank_hourly``)."""

    pk = models.CompositePrimaryKey("pack", "date", "hour_start", "fold")
    pack = _fk(catalog.BatteryPack, "pack_id")
    battery_array = _fk(catalog.BatteryArray, "battery_array_id")
    system = _fk(catalog.System, "system_id")
    charge_energy_kwh = models.FloatField(null=True, default=0.0, db_default=0.0)
    discharge_energy_kwh = models.FloatField(null=True, default=0.0, db_default=0.0)
    net_energy_kwh = models.FloatField(null=True, default=0.0, db_default=0.0)
    avg_power_w = models.FloatField(null=True)
    avg_soc_pct = models.FloatField(null=True)
    min_soc_pct = models.FloatField(null=True)
    max_soc_pct = models.FloatField(null=True)
    avg_voltage_v = models.FloatField(null=True)
    avg_current_a = models.FloatField(null=True)
    avg_temperature_c = models.FloatField(null=True)
    sample_count = models.IntegerField(null=True, default=0, db_default=0)
    # added: the band of the pack's cells (lowest and highest cell voltage, mean over cells)
    min_cell_voltage_v = models.FloatField(null=True)
    max_cell_voltage_v = models.FloatField(null=True)
    avg_cell_voltage_v = models.FloatField(null=True)

    class Meta:
        db_table = "battery_bank_hourly"
        verbose_name_plural = "battery bank hourly"
        indexes = [_idx("battery_bank_hourly", c) for c in ("pack_id", "system_id", "date")]


class BatteryBankDaily(Rollup):
    """One battery pack's day (``battery_bank_daily``)."""

    pk = models.CompositePrimaryKey("date", "pack")
    date = models.DateField(help_text="Local date in the system's timezone")
    pack = _fk(catalog.BatteryPack, "pack_id")
    battery_array = _fk(catalog.BatteryArray, "battery_array_id")
    system = _fk(catalog.System, "system_id")
    day_of_year = models.IntegerField()
    year = models.IntegerField()
    charge_energy_kwh = models.FloatField(null=True, default=0.0, db_default=0.0)
    discharge_energy_kwh = models.FloatField(null=True, default=0.0, db_default=0.0)
    net_energy_kwh = models.FloatField(null=True, default=0.0, db_default=0.0)
    min_soc_pct = models.FloatField(null=True)
    max_soc_pct = models.FloatField(null=True)
    avg_soc_pct = models.FloatField(null=True)
    min_voltage_v = models.FloatField(null=True)
    max_voltage_v = models.FloatField(null=True)
    avg_voltage_v = models.FloatField(null=True)
    min_temperature_c = models.FloatField(null=True)
    max_temperature_c = models.FloatField(null=True)
    avg_temperature_c = models.FloatField(null=True)
    min_current_a = models.FloatField(null=True)
    max_current_a = models.FloatField(null=True)
    avg_current_a = models.FloatField(null=True)
    cycles = models.FloatField(null=True)
    sample_count = models.IntegerField(null=True, default=0, db_default=0)
    # added: the band of the pack's cells (lowest and highest cell voltage, mean over cells)
    min_cell_voltage_v = models.FloatField(null=True)
    max_cell_voltage_v = models.FloatField(null=True)
    avg_cell_voltage_v = models.FloatField(null=True)

    class Meta:
        db_table = "battery_bank_daily"
        verbose_name_plural = "battery bank daily"
        indexes = [_idx("battery_bank_daily", c) for c in ("pack_id", "system_id", "date")]


class DirtyDay(models.Model):
    """A (system, local date) with samples that arrived after their slots were rolled up.

    ``first_ts``/``last_ts`` bound the late samples, and only the slots around them are rolled up
    again; both empty means the whole day.
    """

    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="+")
    date = models.DateField(help_text="Local date in the system's timezone")
    marked_at = models.DateTimeField(db_default=Now())
    first_ts = models.DateTimeField(null=True, help_text="Earliest late sample (empty: the whole day)")
    last_ts = models.DateTimeField(null=True, help_text="Latest late sample (empty: the whole day)")

    class Meta:
        db_table = "rollup_dirty_days"
        constraints = [models.UniqueConstraint(fields=["system", "date"], name="uq_rollup_dirty_day")]

    def __str__(self) -> str:
        return f"{self.system_id} {self.date}"


class RollupWatermark(models.Model):
    """How far the periodic rollup has closed a device's 5-minute slots.

    Slots before ``closed_until`` have their tiers and rollups; the next run reads only samples
    from there on. A sample that lands before it (less two gaps, the reach of its booking) is
    late and marks its day dirty. ``max_gap_s`` is the device's gap limit when it was closed.
    """

    device_type = models.CharField(max_length=16, choices=DeviceKind.choices)
    device_id = models.CharField(max_length=64)
    system = models.ForeignKey(catalog.System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="+")
    closed_until = models.DateTimeField(help_text="UTC end of the last closed slot")
    max_gap_s = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "rollup_watermarks"
        constraints = [models.UniqueConstraint(fields=["device_type", "device_id"],
                                               name="uq_rollup_watermark")]

    def __str__(self) -> str:
        return f"{self.device_type} {self.device_id} closed until {self.closed_until}"


class RecordedInterval(models.Model):
    """How often a device's samples in a time range were taken, where that differs from its poll
    interval now: history imported from the original system, which polled at its own interval.

    Rollups of the days in the range bridge gaps of up to a few of these intervals
    (:func:`aggregation.sources.with_recorded_intervals`).
    """

    device_type = models.CharField(max_length=16, choices=DeviceKind.choices)
    device_id = models.CharField(max_length=64)
    start = models.DateTimeField(help_text="First sample of the range (UTC)")
    end = models.DateTimeField(help_text="Last sample of the range (UTC)")
    interval_s = models.FloatField(help_text="Typical seconds between the samples of the range")

    class Meta:
        db_table = "rollup_recorded_intervals"
        indexes = [models.Index(fields=["device_type", "device_id"], name="idx_recorded_intervals_dev")]

    def __str__(self) -> str:
        return f"{self.device_type} {self.device_id}: every {self.interval_s:g} s"
