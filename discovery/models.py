"""Discovery tables: ``device_discovery`` (spec §2.1, §3.4) and per-port probe results.

``device_discovery`` keeps the spec's column names so its §12 query runs unchanged. One
physical device (adapter type + its own serial number) has exactly one row, whatever port
it is on; the row links to the catalog device and the adapter created for it.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from catalog.constants import ID_MAX_LENGTH
from catalog.models import Adapter, Collector
from discovery.choices import DiscoveryStatus, ProbeResult
from discovery.fields import IntegerFlagField

PORT_MAX_LENGTH = 255


class DeviceDiscovery(models.Model):
    """A device found on a serial port, identified by its own serial number."""

    device_id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH, db_column="device_id",
                                 help_text="'{type}_{serial suffix}'; also the catalog device's id")
    device_type = models.CharField(max_length=32, help_text="Adapter type that identified it (powdrive, "
                                   "senergy, pytes, iammeter)")
    serial_number = models.CharField(max_length=64, help_text="The device's own serial number")
    model = models.CharField(max_length=200, blank=True, default="")
    port = models.CharField(max_length=PORT_MAX_LENGTH, help_text="Where it is now: the "
                            "/dev/serial/by-id path when there is one, else the kernel name")
    last_known_port = models.CharField(max_length=PORT_MAX_LENGTH, blank=True, null=True,
                                       help_text="The port it was on before its latest move")
    port_history = models.JSONField(default=list, blank=True,
                                    help_text="Every port it was found on: [{port, seen_at}]")
    adapter_config = models.JSONField(default=dict, help_text="The adapter config discovery built")
    status = models.CharField(max_length=16, choices=DiscoveryStatus.choices,
                              default=DiscoveryStatus.ACTIVE)
    failure_count = models.IntegerField(default=0, help_text="Scans in a row that missed it")
    next_retry_time = models.DateTimeField(null=True, blank=True,
                                           help_text="While recovering: when it is looked for again")
    last_error = models.TextField(blank=True, default="")
    first_discovered = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    discovery_timestamp = models.DateTimeField(null=True, blank=True,
                                               help_text="The latest scan that found it")
    is_auto_discovered = IntegerFlagField(default=True, db_default=1,
                                          help_text="Created by a scan (not adopted from a "
                                          "configuration)")
    device_kind = models.CharField(max_length=16, blank=True, default="",
                                   help_text="Catalog kind: inverter, battery_pack or meter")
    catalog_device_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="",
                                         help_text="The inverter, pack or meter (empty until approved)")
    adapter = models.ForeignKey(Adapter, on_delete=models.SET_NULL, null=True, blank=True,
                                db_column="adapter_id", related_name="discoveries")
    collector = models.ForeignKey(Collector, on_delete=models.SET_NULL, null=True, blank=True,
                                  db_column="collector", related_name="discoveries",
                                  help_text="The collector (host) whose port it was found on last")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now(), editable=False)

    class Meta:
        db_table = "device_discovery"
        ordering = ["device_id"]
        verbose_name = "discovered device"
        constraints = [models.UniqueConstraint(fields=["device_type", "serial_number"],
                                               name="uq_device_discovery_type_serial")]
        indexes = [models.Index(fields=["status"], name="idx_device_discovery_status"),
                   models.Index(fields=["port"], name="idx_device_discovery_port")]

    def __str__(self) -> str:
        return f"{self.device_id} ({self.device_type} {self.serial_number} on {self.port})"


class PortProbe(models.Model):
    """The last probe result of one serial port of one collector, so silent or garbage ports
    wait between probes (two hosts may both have a /dev/ttyUSB0)."""

    collector = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="",
                                 help_text="The collector whose port it is")
    port = models.CharField(max_length=PORT_MAX_LENGTH)
    last_result = models.CharField(max_length=16, choices=ProbeResult.choices)
    detail = models.TextField(blank=True, default="", help_text="What each probe answered")
    strikes = models.IntegerField(default=0, help_text="Silent/garbage/unrecognized results in a row")
    device_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="",
                                 help_text="The device found there, if any")
    last_probe_at = models.DateTimeField()
    next_probe_at = models.DateTimeField(null=True, blank=True,
                                         help_text="Empty = probe on every scan")

    class Meta:
        db_table = "discovery_port_probes"
        ordering = ["collector", "port"]
        constraints = [models.UniqueConstraint(fields=["collector", "port"],
                                               name="uq_port_probe_collector_port")]

    def __str__(self) -> str:
        return f"{self.port}: {self.last_result}"


class DiscoveryConfig(models.Model):
    """Discovery settings stored in the database (one row), e.g. imported from a config file.

    An empty field means "use the setting's default"; a ``SOLARMON_DISCOVERY_*`` environment
    variable, when set, wins over the stored value (see :mod:`discovery.conf`).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    enabled = models.BooleanField(null=True, blank=True, help_text="Scan serial ports periodically")
    scan_on_startup = models.BooleanField(null=True, blank=True, help_text="Scan once when the worker "
                                          "starts")
    interval_s = models.FloatField(null=True, blank=True, help_text="Seconds between periodic scans")
    probe_order = models.JSONField(null=True, blank=True, help_text="Adapter types to try on each port, "
                                   "in order")
    probe_timeout_s = models.FloatField(null=True, blank=True, help_text="Seconds to wait for one "
                                        "identification")
    max_failures = models.IntegerField(null=True, blank=True, help_text="Missed scans before a device "
                                       "is disabled")
    retry_base_s = models.FloatField(null=True, blank=True, help_text="First wait before a missing "
                                     "device is looked for again")
    retry_max_s = models.FloatField(null=True, blank=True, help_text="Longest wait between retries")
    backoff_multiplier = models.FloatField(null=True, blank=True, help_text="Each retry waits this "
                                           "many times longer than the one before")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "discovery_config"
        verbose_name = "discovery settings"
        verbose_name_plural = "discovery settings"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="discovery_config_singleton")]

    def __str__(self) -> str:
        return "discovery settings"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from discovery.conf import SERIAL_TYPES

        errors: dict[str, str] = {}
        if self.probe_order is not None:
            listed = self.probe_order
            if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
                errors["probe_order"] = "a list of adapter types"
            elif unknown := [t for t in self.probe_order if t not in SERIAL_TYPES]:
                errors["probe_order"] = (f"{', '.join(unknown)}: not found on serial ports (use "
                                         f"{', '.join(sorted(SERIAL_TYPES))})")
        for name in ("interval_s", "probe_timeout_s", "retry_base_s", "retry_max_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                errors[name] = "must be more than 0"
        if self.backoff_multiplier is not None and self.backoff_multiplier < 1:
            errors["backoff_multiplier"] = "must be at least 1"
        if self.max_failures is not None and self.max_failures < 2:
            errors["max_failures"] = "must be at least 2 (one missed scan is a loose cable or a reboot)"
        if errors:
            raise ValidationError(errors)
