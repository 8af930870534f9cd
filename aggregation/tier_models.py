"""The 5-minute tiers: what long-range charts read once raw samples are gone (docs/energy.md).

One row per device (or cell) and UTC 5-minute slot; ``ts`` is the slot's start. Inverters,
meters and packs (the devices rollups book energy for) keep the slot's energy and the exact
aggregates their hourly and daily rollups are rebuilt from: for each quantity its average,
minimum, maximum and the number of samples behind the average (``_n``), the samples, the
seconds covered and the source. Arrays and the system keep their summed powers; cells their
voltage and temperature. All are written by the rollup path and kept per
``SOLARMON_TIER_RETENTION_DAYS`` (cells: ``SOLARMON_CELL_TIER_RETENTION_DAYS``).

The primary key is (ts, device), like the sample tables; on SQLite the tables are created
WITHOUT ROWID, so the key is the table and no second copy of it is stored.
"""

from __future__ import annotations

from django.db import models

from aggregation.choices import Source
from catalog import models as catalog


def _fk(model: type[models.Model], column: str) -> models.ForeignKey:
    return models.ForeignKey(model, on_delete=models.CASCADE, db_column=column, db_index=False,
                             related_name="+")


def _value() -> models.FloatField:
    return models.FloatField(null=True)


def _count() -> models.IntegerField:
    return models.IntegerField(null=True)


class Tier(models.Model):
    """A 5-minute slot of one device."""

    ts = models.DateTimeField(help_text="UTC start of the 5-minute slot")
    sample_count = models.IntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.db_table} {self.pk}"


class EnergyTier(Tier):
    """The slot's booked energy, its coverage and where it came from."""

    covered_s = models.FloatField(default=0.0, help_text="Seconds of the slot between neighbouring samples")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.NONE)
    glitches = models.IntegerField(default=0, help_text="Counter readings rejected in the slot")

    class Meta:
        abstract = True


class InverterTier(EnergyTier):
    """One inverter's 5 minutes (``energy_samples_5min``)."""

    pk = models.CompositePrimaryKey("ts", "inverter")
    inverter = _fk(catalog.Inverter, "inverter_id")
    system = _fk(catalog.System, "system_id")
    solar_energy_kwh = _value()
    load_energy_kwh = _value()
    battery_charge_energy_kwh = _value()
    battery_discharge_energy_kwh = _value()
    grid_import_energy_kwh = _value()
    grid_export_energy_kwh = _value()
    pv_power_w_avg, pv_power_w_min, pv_power_w_max, pv_power_w_n = _value(), _value(), _value(), _count()
    load_power_w_avg, load_power_w_min, load_power_w_max, load_power_w_n = (
        _value(), _value(), _value(), _count())
    batt_power_w_avg, batt_power_w_min, batt_power_w_max, batt_power_w_n = (
        _value(), _value(), _value(), _count())
    grid_power_w_avg, grid_power_w_min, grid_power_w_max, grid_power_w_n = (
        _value(), _value(), _value(), _count())
    soc_avg, soc_min, soc_max, soc_n = _value(), _value(), _value(), _count()

    class Meta:
        db_table = "energy_samples_5min"
        verbose_name = "inverter 5-minute tier"


class MeterTier(EnergyTier):
    """One meter's 5 minutes (``meter_samples_5min``)."""

    pk = models.CompositePrimaryKey("ts", "meter")
    meter = _fk(catalog.Meter, "meter_id")
    system = _fk(catalog.System, "system_id")
    grid_import_energy_kwh = _value()
    grid_export_energy_kwh = _value()
    grid_power_w_avg, grid_power_w_min, grid_power_w_max, grid_power_w_n = (
        _value(), _value(), _value(), _count())
    grid_voltage_v_avg, grid_voltage_v_min, grid_voltage_v_max, grid_voltage_v_n = (
        _value(), _value(), _value(), _count())
    grid_current_a_avg, grid_current_a_min, grid_current_a_max, grid_current_a_n = (
        _value(), _value(), _value(), _count())
    grid_frequency_hz_avg, grid_frequency_hz_min, grid_frequency_hz_max, grid_frequency_hz_n = (
        _value(), _value(), _value(), _count())

    class Meta:
        db_table = "meter_samples_5min"
        verbose_name = "meter 5-minute tier"


class PackTier(EnergyTier):
    """One battery pack's 5 minutes, with the band of its cells (``battery_bank_samples_5min``)."""

    pk = models.CompositePrimaryKey("ts", "pack")
    pack = _fk(catalog.BatteryPack, "pack_id")
    system = _fk(catalog.System, "system_id")
    charge_energy_kwh = _value()
    discharge_energy_kwh = _value()
    power_w_avg, power_w_min, power_w_max, power_w_n = _value(), _value(), _value(), _count()
    soc_avg, soc_min, soc_max, soc_n = _value(), _value(), _value(), _count()
    voltage_avg, voltage_min, voltage_max, voltage_n = _value(), _value(), _value(), _count()
    current_avg, current_min, current_max, current_n = _value(), _value(), _value(), _count()
    temperature_avg, temperature_min, temperature_max, temperature_n = _value(), _value(), _value(), _count()
    # The pack's cells together: lowest and highest cell voltage in the slot, mean over cell rows.
    cell_voltage_avg, cell_voltage_min, cell_voltage_max, cell_voltage_n = (
        _value(), _value(), _value(), _count())

    class Meta:
        db_table = "battery_bank_samples_5min"
        verbose_name = "battery pack 5-minute tier"


class ArrayTier(Tier):
    """An inverter array's summed powers (from ``array_samples``; ``array_samples_5min``)."""

    pk = models.CompositePrimaryKey("ts", "array")
    array = _fk(catalog.InverterArray, "array_id")
    system = _fk(catalog.System, "system_id")
    pv_power_w_avg, pv_power_w_min, pv_power_w_max = _value(), _value(), _value()
    load_power_w_avg, load_power_w_min, load_power_w_max = _value(), _value(), _value()
    batt_power_w_avg, batt_power_w_min, batt_power_w_max = _value(), _value(), _value()
    grid_power_w_avg, grid_power_w_min, grid_power_w_max = _value(), _value(), _value()
    soc_avg, soc_min, soc_max = _value(), _value(), _value()

    class Meta:
        db_table = "array_samples_5min"
        verbose_name = "array 5-minute tier"


class SystemTier(Tier):
    """A system's powers, grid counted once (from ``system_samples``; ``system_samples_5min``)."""

    pk = models.CompositePrimaryKey("ts", "system")
    system = _fk(catalog.System, "system_id")
    pv_power_w_avg, pv_power_w_min, pv_power_w_max = _value(), _value(), _value()
    load_power_w_avg, load_power_w_min, load_power_w_max = _value(), _value(), _value()
    batt_power_w_avg, batt_power_w_min, batt_power_w_max = _value(), _value(), _value()
    grid_power_w_avg, grid_power_w_min, grid_power_w_max = _value(), _value(), _value()
    soc_avg, soc_min, soc_max = _value(), _value(), _value()

    class Meta:
        db_table = "system_samples_5min"
        verbose_name = "system 5-minute tier"


class CellTier(Tier):
    """One cell's 5 minutes (``battery_cell_samples_5min``): the extremes of its rows included."""

    pk = models.CompositePrimaryKey("ts", "cell")
    cell = _fk(catalog.BatteryCell, "cell_id")
    pack = _fk(catalog.BatteryPack, "pack_id")
    voltage_avg, voltage_min, voltage_max = _value(), _value(), _value()
    temperature_avg, temperature_min, temperature_max = _value(), _value(), _value()

    class Meta:
        db_table = "battery_cell_samples_5min"
        verbose_name = "cell 5-minute tier"
        # One cell over a range (its chart) is one range read of this index; the key (slot, cell)
        # serves the writes, the retention and a pack's cells of one slot.
        indexes = [models.Index(fields=["cell", "ts"], name="battery_cell_5min_cell_ts")]


class CellDaily(models.Model):
    """One cell's local day (``battery_cell_daily``), summed up from its 5-minute tier.

    What the weakest cell of a long period reads: the lowest voltage each cell reached in the
    day and when (the start of that slot), its highest, and its averages. Written with the cell
    tiers by the rollup path (:func:`aggregation.tiers.replace_cell_daily`) and kept forever,
    like the daily rollups (92 cells are 92 rows a day), so it outlives the cell tiers.
    """

    pk = models.CompositePrimaryKey("pack", "date", "cell")
    pack = _fk(catalog.BatteryPack, "pack_id")
    date = models.DateField(help_text="Local date in the system's timezone")
    cell = _fk(catalog.BatteryCell, "cell_id")
    sample_count = models.IntegerField(default=0)
    voltage_avg, voltage_min, voltage_max = _value(), _value(), _value()
    voltage_n = _count()
    voltage_min_at = models.DateTimeField(null=True, help_text="UTC start of the slot of the lowest voltage")
    temperature_avg, temperature_min, temperature_max = _value(), _value(), _value()
    temperature_n = _count()

    class Meta:
        db_table = "battery_cell_daily"
        verbose_name = "cell day"
        verbose_name_plural = "cell days"

    def __str__(self) -> str:
        return f"{self._meta.db_table} {self.pk}"


TIER_MODELS: tuple[type[Tier], ...] = (InverterTier, MeterTier, PackTier, ArrayTier, SystemTier, CellTier)
