"""Catalog models: the installation's hierarchy (spec §4.1).

Table and column names are the spec's (``db_table``/``db_column``) so SQL written against
the spec runs unchanged. Rows keep the spec's text ids as primary keys.

Several tables carry both a parent and its ancestors (an inverter's ``array_id`` and
``system_id``). ``clean()`` fills a missing ancestor from the parent and rejects a
mismatch; every write path (admin, API, YAML import, discovery) saves through
:func:`catalog.services.save_entity`, which runs it.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from catalog import choices
from catalog.constants import (
    DEFAULT_TIMEZONE,
    DESCRIPTION_MAX_LENGTH,
    ID_MAX_LENGTH,
    ID_REGEX,
    POLL_INTERVAL_MAX_S,
    POLL_INTERVAL_MIN_S,
)

id_validator = RegexValidator(
    ID_REGEX, "Use letters, digits, '_', '-' or '.', starting with a letter or digit.")


def finite_number(value: float) -> None:
    """Reject NaN and infinities (YAML spells them ``.nan`` and ``.inf``)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("must be a finite number", code="not_finite")


def _non_finite_paths(value: Any, path: str = "") -> list[str]:
    """The paths of NaN or infinite numbers inside a JSON value (JSON cannot store them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [path or "(config)"]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _non_finite_paths(item, f"{path}.{key}" if path
                                                                            else str(key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _non_finite_paths(item, f"{path}[{i}]")]
    return []


def text_id(column: str, help_text: str) -> models.CharField[str, str]:
    """A text primary key column with the spec's name."""
    return models.CharField(primary_key=True, max_length=ID_MAX_LENGTH, db_column=column,
                            validators=[id_validator], help_text=help_text)


class Created(models.Model):
    """``created_at`` with a database default, so SQL inserts may leave it out."""

    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        abstract = True


class Timestamped(Created):
    """``created_at`` and ``updated_at``."""

    updated_at = models.DateTimeField(auto_now=True, db_default=Now(), editable=False)

    class Meta:
        abstract = True


def _require_same(errors: dict[str, str], column: str, given: Any, expected: Any, what: str) -> None:
    """Record a mismatch between a denormalized ancestor id and the parent chain.

    The error is keyed by the model field (``system``), and the message names the column
    (``system_id``) as users see it in YAML, SQL and the API.
    """
    if given is not None and expected is not None and given != expected:
        errors[column.removesuffix("_id")] = f"{column} {given!r} does not match the {what} ({expected!r})"


class System(Timestamped):
    """A whole installation at one site; the top of the hierarchy."""

    system_id = text_id("system_id", "Short id, e.g. 'system'")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, null=True, max_length=DESCRIPTION_MAX_LENGTH,
                                   validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)])
    timezone = models.CharField(max_length=64, default=DEFAULT_TIMEZONE, db_default=DEFAULT_TIMEZONE,
                                help_text="IANA timezone; hours and days are bucketed in it")

    class Meta:
        db_table = "systems"
        ordering = ["system_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.system_id})"

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"timezone": f"unknown timezone {self.timezone!r}"}) from None


class InverterArray(Timestamped):
    """A logical group of inverters (table ``arrays``), e.g. the inverters of one floor."""

    array_id = text_id("array_id", "Short id, e.g. 'array1'")
    system = models.ForeignKey(System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="arrays")
    name = models.CharField(max_length=200)

    class Meta:
        db_table = "arrays"
        ordering = ["array_id"]
        indexes = [models.Index(fields=["system"], name="idx_arrays_system_id")]

    def __str__(self) -> str:
        return f"{self.name} ({self.array_id})"


class BatteryArray(Timestamped):
    """A logical group of battery packs, attached to one inverter array at a time."""

    battery_array_id = text_id("battery_array_id", "Short id, e.g. 'battery_array1'")
    system = models.ForeignKey(System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="battery_arrays")
    name = models.CharField(max_length=200)

    class Meta:
        db_table = "battery_arrays"
        ordering = ["battery_array_id"]
        indexes = [models.Index(fields=["system"], name="idx_battery_arrays_system_id")]

    def __str__(self) -> str:
        return f"{self.name} ({self.battery_array_id})"


class Collector(Timestamped):
    """A host that owns devices: its serial ports, and the TCP and BLE adapters assigned to it.

    Every Celery worker runs as one collector (``SOLARMON_COLLECTOR``, default the host name),
    registers itself here when it starts and heartbeats while it runs; beat queues each bus's
    polls on its owner's queue. A single-host installation has one collector, registered by
    its worker, with nothing to configure.
    """

    name = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH, db_column="name",
                            validators=[id_validator],
                            help_text="SOLARMON_COLLECTOR of the worker (default: its host name)")
    host = models.CharField(max_length=255, blank=True, default="", editable=False,
                            help_text="Host name of the machine the worker last ran on")
    version = models.CharField(max_length=32, blank=True, default="", editable=False,
                               help_text="solarmon version the worker runs")
    ports = models.JSONField(default=list, blank=True, editable=False,
                             help_text="Serial ports the collector has (kernel and /dev/serial/by-id "
                             "names), as of its last heartbeat")
    started_at = models.DateTimeField(null=True, blank=True, editable=False,
                                      help_text="When its worker last started")
    last_heartbeat = models.DateTimeField(null=True, blank=True, editable=False,
                                          help_text="Empty: never seen running")
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False,
                                      help_text="When its worker last shut down cleanly")

    class Meta:
        db_table = "collectors"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.ports, list) or not all(isinstance(p, str) for p in self.ports):
            raise ValidationError({"ports": "must be a list of port paths"})


class AdapterType(Timestamped):
    """A supported adapter type (table ``adapter_base``), synced from ``adapters.registry``."""

    adapter_type = models.CharField(primary_key=True, max_length=32, db_column="adapter_type")
    device_category = models.CharField(max_length=16, choices=choices.DeviceCategory.choices)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, null=True)
    config_schema = models.JSONField(help_text="JSON Schema of this type's adapter config")
    supported_transports = models.JSONField(default=list, null=True)
    default_config = models.JSONField(default=dict, null=True)
    version = models.CharField(max_length=16, blank=True, null=True)
    default_poll_interval_s = models.FloatField(default=10.0, help_text="Seconds between polls "
                                                "unless the adapter sets its own")

    class Meta:
        db_table = "adapter_base"
        ordering = ["adapter_type"]

    def __str__(self) -> str:
        return self.adapter_type


class Adapter(Timestamped):
    """An adapter instance: how to reach one device (table ``adapters``)."""

    adapter_id = text_id("adapter_id", "Short id, e.g. 'powdrive1_adapter'")
    adapter_type = models.ForeignKey(AdapterType, on_delete=models.RESTRICT, db_column="adapter_type",
                                     related_name="instances")
    device_category = models.CharField(max_length=16, choices=choices.DeviceCategory.choices,
                                       blank=True, help_text="Filled from the adapter type")
    name = models.CharField(max_length=200, blank=True, null=True)
    config_json = models.JSONField(default=dict, help_text="Connection settings; validated against "
                                   "the adapter type's schema")
    device_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, null=True,
                                 help_text="The inverter, pack or meter this adapter reads")
    device_type = models.CharField(max_length=16, choices=choices.DeviceType.choices, blank=True,
                                   null=True)
    priority = models.IntegerField(default=1, db_default=1, help_text="Lower number = tried first")
    enabled = models.BooleanField(default=True, db_default=True)
    poll_interval_s = models.FloatField(
        blank=True, null=True, validators=[finite_number, MinValueValidator(POLL_INTERVAL_MIN_S),
                                           MaxValueValidator(POLL_INTERVAL_MAX_S)],
        help_text=f"Seconds between polls ({POLL_INTERVAL_MIN_S:g} to {POLL_INTERVAL_MAX_S:g}); "
        "empty = the type's default")
    collector = models.ForeignKey(
        Collector, on_delete=models.SET_NULL, db_column="collector", null=True, blank=True,
        related_name="adapters",
        help_text="The collector (host) that polls this adapter. Empty: the collector that has its "
        "serial port, or the only collector")

    class Meta:
        db_table = "adapters"
        ordering = ["adapter_id"]
        indexes = [
            models.Index(fields=["adapter_type"], name="idx_adapters_adapter_type"),
            models.Index(fields=["device_id", "device_type"], name="idx_adapters_device_id"),
            models.Index(fields=["device_category"], name="idx_adapters_device_category"),
        ]

    def __str__(self) -> str:
        return f"{self.adapter_id} ({self.adapter_type_id})"

    def clean(self) -> None:
        from adapters.registry import validate_config

        errors: dict[str, list[str]] = {}
        type_row = AdapterType.objects.filter(pk=self.adapter_type_id).first()
        if type_row is None:
            errors["adapter_type"] = [f"unknown adapter type {self.adapter_type_id!r}"]
        else:
            if not self.device_category:
                self.device_category = type_row.device_category
            elif self.device_category != type_row.device_category:
                errors["device_category"] = [
                    f"{self.device_category!r} does not match the type's category "
                    f"{type_row.device_category!r}"]
            problems = validate_config(type_row.adapter_type, self.config_json)
            problems += [f"{path}: must be a finite number" for path in _non_finite_paths(self.config_json)]
            if problems:
                errors["config_json"] = problems
        if errors:
            raise ValidationError(errors)

    def effective_poll_interval(self) -> float:
        """Seconds between polls: the adapter's own setting or its type's default.

        Clamped to the bounds every write path enforces, so a value stored before they existed
        cannot stall the scheduler (1e308 s overflowed the slot arithmetic).
        """
        seconds = float(self.poll_interval_s or self.adapter_type.default_poll_interval_s)
        if not math.isfinite(seconds):
            seconds = self.adapter_type.default_poll_interval_s
        return min(max(seconds, POLL_INTERVAL_MIN_S), POLL_INTERVAL_MAX_S)


class Inverter(Timestamped):
    """One inverter, read through one adapter."""

    inverter_id = text_id("inverter_id", "Short id, e.g. 'powdrive1'")
    array = models.ForeignKey(InverterArray, on_delete=models.CASCADE, db_column="array_id",
                              related_name="inverters")
    system = models.ForeignKey(System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="inverters", blank=True,
                               help_text="Filled from the array when left empty")
    adapter = models.ForeignKey(Adapter, on_delete=models.SET_NULL, db_column="adapter_id", null=True,
                                blank=True, related_name="inverters")
    name = models.CharField(max_length=200)
    model = models.CharField(max_length=200, blank=True, null=True)
    serial_number = models.CharField(max_length=64, blank=True, null=True)
    vendor = models.CharField(max_length=64, blank=True, null=True)
    phase_type = models.CharField(max_length=8, choices=choices.PhaseType.choices, blank=True, null=True)
    rated_power_w = models.FloatField(blank=True, null=True, help_text="Nameplate power; bounds "
                                      "plausible energy jumps")

    class Meta:
        db_table = "inverters"
        ordering = ["inverter_id"]
        indexes = [
            models.Index(fields=["system"], name="idx_inverters_system_id"),
            models.Index(fields=["array"], name="idx_inverters_array_id"),
            models.Index(fields=["adapter"], name="idx_inverters_adapter_id"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.inverter_id})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        array = InverterArray.objects.filter(pk=self.array_id).first()
        if array is not None:
            if not self.system_id:
                self.system_id = array.system_id
            _require_same(errors, "system_id", self.system_id, array.system_id, "array's system")
        _check_adapter_category(errors, self.adapter_id, choices.DeviceCategory.INVERTER)
        if errors:
            raise ValidationError(errors)


class BatteryPack(Timestamped):
    """A battery pack (bank) of one or more battery units."""

    pack_id = text_id("pack_id", "Short id, e.g. 'battery1'")
    battery_array = models.ForeignKey(BatteryArray, on_delete=models.CASCADE,
                                      db_column="battery_array_id", related_name="packs")
    system = models.ForeignKey(System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="battery_packs", blank=True,
                               help_text="Filled from the battery array when left empty")
    name = models.CharField(max_length=200)
    chemistry = models.CharField(max_length=16, blank=True, null=True, help_text="LFP, NMC, ...")
    nominal_kwh = models.FloatField(blank=True, null=True)
    max_charge_kw = models.FloatField(blank=True, null=True)
    max_discharge_kw = models.FloatField(blank=True, null=True)
    # added: the pack's model and maker (e.g. from the original system's adapter config)
    model = models.CharField(max_length=200, blank=True, null=True)
    manufacturer = models.CharField(max_length=200, blank=True, null=True)

    class Meta:
        db_table = "battery_packs"
        ordering = ["pack_id"]
        indexes = [
            models.Index(fields=["system"], name="idx_battery_packs_system_id"),
            models.Index(fields=["battery_array"], name="idx_battery_packs_battery_array_id"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.pack_id})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        parent = BatteryArray.objects.filter(pk=self.battery_array_id).first()
        if parent is not None:
            if not self.system_id:
                self.system_id = parent.system_id
            _require_same(errors, "system_id", self.system_id, parent.system_id,
                          "battery array's system")
        if errors:
            raise ValidationError(errors)


class BatteryPackAdapter(Created):
    """A pack's link to one of its adapters, with failover priority.

    The spec keys this table on (pack_id, adapter_id). The admin cannot edit rows with a
    composite primary key, so rows get a surrogate ``id`` and the pair is unique.
    """

    pack = models.ForeignKey(BatteryPack, on_delete=models.CASCADE, db_column="pack_id",
                             related_name="adapter_links")
    adapter = models.ForeignKey(Adapter, on_delete=models.CASCADE, db_column="adapter_id",
                                related_name="pack_links")
    priority = models.IntegerField(default=1, db_default=1, help_text="Lower number = tried first")
    enabled = models.BooleanField(default=True, db_default=True)

    class Meta:
        db_table = "battery_pack_adapters"
        ordering = ["pack", "priority"]
        constraints = [models.UniqueConstraint(fields=["pack", "adapter"], name="uq_pack_adapter")]
        indexes = [
            models.Index(fields=["pack"], name="idx_battery_pack_adapters_pack_id"),
            models.Index(fields=["adapter"], name="idx_battery_pack_adapters_adapter_id"),
        ]

    def __str__(self) -> str:
        return f"{self.pack_id} ← {self.adapter_id} (priority {self.priority})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        _check_adapter_category(errors, self.adapter_id, choices.DeviceCategory.BATTERY)
        if errors:
            raise ValidationError(errors)


class Battery(Created):
    """One battery unit (module) of a pack (table ``batteries``)."""

    battery_id = text_id("battery_id", "Short id, e.g. 'battery1_b0'")
    pack = models.ForeignKey(BatteryPack, on_delete=models.CASCADE, db_column="pack_id",
                             related_name="batteries")
    battery_array = models.ForeignKey(BatteryArray, on_delete=models.CASCADE,
                                      db_column="battery_array_id", related_name="batteries", blank=True)
    system = models.ForeignKey(System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="batteries", blank=True)
    battery_index = models.IntegerField(help_text="Index within the pack, from 0")
    serial_number = models.CharField(max_length=64, blank=True, null=True)
    model = models.CharField(max_length=200, blank=True, null=True)

    class Meta:
        db_table = "batteries"
        verbose_name = "battery"
        verbose_name_plural = "batteries"
        ordering = ["pack", "battery_index"]
        constraints = [models.UniqueConstraint(fields=["pack", "battery_index"],
                                               name="uq_battery_index_in_pack")]
        indexes = [
            models.Index(fields=["system"], name="idx_batteries_system_id"),
            models.Index(fields=["pack"], name="idx_batteries_pack_id"),
        ]

    def __str__(self) -> str:
        return f"{self.pack_id} #{self.battery_index}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        pack = BatteryPack.objects.filter(pk=self.pack_id).first()
        if pack is not None:
            self.battery_array_id = self.battery_array_id or pack.battery_array_id
            self.system_id = self.system_id or pack.system_id
            _require_same(errors, "battery_array_id", self.battery_array_id, pack.battery_array_id,
                          "pack's battery array")
            _require_same(errors, "system_id", self.system_id, pack.system_id, "pack's system")
        if errors:
            raise ValidationError(errors)


class BatteryCell(Created):
    """One cell of a battery unit (table ``battery_cells``)."""

    cell_id = text_id("cell_id", "Short id, e.g. 'battery1_b0_c0'")
    battery = models.ForeignKey(Battery, on_delete=models.CASCADE, db_column="battery_id",
                                related_name="cells")
    pack = models.ForeignKey(BatteryPack, on_delete=models.CASCADE, db_column="pack_id",
                             related_name="cells", blank=True)
    battery_array = models.ForeignKey(BatteryArray, on_delete=models.CASCADE,
                                      db_column="battery_array_id", related_name="cells", blank=True)
    system = models.ForeignKey(System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="cells", blank=True)
    cell_index = models.IntegerField(help_text="Index within the battery, from 0")
    nominal_voltage = models.FloatField(blank=True, null=True)

    class Meta:
        db_table = "battery_cells"
        ordering = ["battery", "cell_index"]
        constraints = [models.UniqueConstraint(fields=["battery", "cell_index"],
                                               name="uq_cell_index_in_battery")]
        indexes = [
            models.Index(fields=["system"], name="idx_battery_cells_system_id"),
            models.Index(fields=["battery"], name="idx_battery_cells_battery_id"),
        ]

    def __str__(self) -> str:
        return f"{self.battery_id} cell {self.cell_index}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        battery = Battery.objects.filter(pk=self.battery_id).first()
        if battery is not None:
            self.pack_id = self.pack_id or battery.pack_id
            self.battery_array_id = self.battery_array_id or battery.battery_array_id
            self.system_id = self.system_id or battery.system_id
            _require_same(errors, "pack_id", self.pack_id, battery.pack_id, "battery's pack")
            _require_same(errors, "battery_array_id", self.battery_array_id, battery.battery_array_id,
                          "battery's battery array")
            _require_same(errors, "system_id", self.system_id, battery.system_id, "battery's system")
        if errors:
            raise ValidationError(errors)


class BatteryArrayAttachment(models.Model):
    """Which inverter array a battery array feeds, and since when (history is kept).

    The spec keys this table on (battery_array_id, attached_since); rows get a surrogate
    ``id`` (the admin cannot edit composite keys) and that pair is unique. At most one
    attachment per battery array, and per inverter array, is active (``detached_at`` NULL).
    """

    battery_array = models.ForeignKey(BatteryArray, on_delete=models.CASCADE,
                                      db_column="battery_array_id", related_name="attachments")
    inverter_array = models.ForeignKey(InverterArray, on_delete=models.CASCADE,
                                       db_column="inverter_array_id", related_name="battery_attachments")
    attached_since = models.DateTimeField()
    detached_at = models.DateTimeField(blank=True, null=True, help_text="Empty = still attached")

    class Meta:
        db_table = "battery_array_attachments"
        ordering = ["battery_array", "-attached_since"]
        constraints = [
            models.UniqueConstraint(fields=["battery_array", "attached_since"],
                                    name="uq_attachment_since"),
            models.UniqueConstraint(fields=["battery_array"], condition=Q(detached_at__isnull=True),
                                    name="uq_one_active_attachment_per_battery_array",
                                    violation_error_message="This battery array already has an "
                                    "active attachment; detach it first."),
            models.UniqueConstraint(fields=["inverter_array"], condition=Q(detached_at__isnull=True),
                                    name="uq_one_active_attachment_per_inverter_array",
                                    violation_error_message="This inverter array already has an "
                                    "active battery attachment; detach it first."),
        ]

    def __str__(self) -> str:
        state = "active" if self.detached_at is None else f"until {self.detached_at:%Y-%m-%d}"
        return f"{self.battery_array_id} → {self.inverter_array_id} ({state})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        ba = BatteryArray.objects.filter(pk=self.battery_array_id).first()
        ia = InverterArray.objects.filter(pk=self.inverter_array_id).first()
        if ba is not None and ia is not None and ba.system_id != ia.system_id:
            errors["inverter_array"] = (f"inverter array {ia.pk!r} is in system {ia.system_id!r}, "
                                        f"but battery array {ba.pk!r} is in {ba.system_id!r}")
        if self.detached_at and self.attached_since and self.detached_at <= self.attached_since:
            errors["detached_at"] = "must be after attached_since"
        if errors:
            raise ValidationError(errors)


class Meter(Timestamped):
    """An energy meter, at system level (``array_id`` NULL) or on one array."""

    meter_id = text_id("meter_id", "Short id, e.g. 'grid_meter_1'")
    system = models.ForeignKey(System, on_delete=models.CASCADE, db_column="system_id",
                               related_name="meters")
    array = models.ForeignKey(InverterArray, on_delete=models.SET_NULL, db_column="array_id", null=True,
                              blank=True, related_name="meters", help_text="Empty = system-level")
    adapter = models.ForeignKey(Adapter, on_delete=models.SET_NULL, db_column="adapter_id", null=True,
                                blank=True, related_name="meters")
    name = models.CharField(max_length=200)
    model = models.CharField(max_length=200, blank=True, null=True)
    type = models.CharField(max_length=16, choices=choices.MeterType.choices, blank=True, null=True,
                            db_column="type")
    attachment_target = models.CharField(max_length=ID_MAX_LENGTH, blank=True, null=True,
                                         help_text="'system' or the array id; kept in step with array")
    serial_number = models.CharField(max_length=64, blank=True, null=True)

    class Meta:
        db_table = "meters"
        ordering = ["meter_id"]
        indexes = [
            models.Index(fields=["system"], name="idx_meters_system_id"),
            models.Index(fields=["array"], name="idx_meters_array_id"),
            models.Index(fields=["adapter"], name="idx_meters_adapter_id"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.meter_id})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        target = self.array_id or choices.SYSTEM_TARGET
        if self.attachment_target in (None, "", "home"):
            self.attachment_target = target
        elif self.attachment_target != target:
            errors["attachment_target"] = (f"{self.attachment_target!r} disagrees with array_id "
                                           f"(expected {target!r})")
        array = InverterArray.objects.filter(pk=self.array_id).first() if self.array_id else None
        if array is not None:
            _require_same(errors, "system_id", self.system_id, array.system_id, "array's system")
        _check_adapter_category(errors, self.adapter_id, choices.DeviceCategory.METER)
        if errors:
            raise ValidationError(errors)


def _check_adapter_category(errors: dict[str, str], adapter_id: str | None, category: str) -> None:
    if not adapter_id:
        return
    found = Adapter.objects.filter(pk=adapter_id).values_list("device_category", flat=True).first()
    if found is not None and found != category:
        errors["adapter"] = f"adapter {adapter_id!r} is a {found} adapter, not a {category} adapter"
