"""Settings of what leaves the box.

``MqttSettings`` is one row: where the MQTT publisher connects and how it names topics. The
publisher, its API and the ``SOLARMON_MQTT_URL`` override are built on top of it.
``NotificationChannel`` rows say where alerts are sent; ``NotificationDelivery`` rows track each
message until it is sent.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q

from alerts.choices import AlertEvent, Severity
from alerts.models import Alert
from integrations.choices import ChannelKind, DeliveryStatus

SINGLETON_ID = 1
CELLS_AUTO_LIMIT = 32
MQTT_SCHEMES = {"mqtt": 1883, "mqtts": 8883}


def broker_address(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a broker URL such as ``mqtt://192.168.1.5:1883``.

    Raises ``ValueError`` saying what is wrong. The port defaults to 1883 (mqtt) or 8883 (mqtts).
    """
    parts = urlsplit(url)
    if parts.scheme not in MQTT_SCHEMES:
        raise ValueError(f"{url!r}: use mqtt://host:port or mqtts://host:port")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host")
    if parts.username or parts.password:
        raise ValueError("give the username and password in their own fields, not in the URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{url!r}: only mqtt[s]://host[:port] is allowed")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port") from None
    return parts.scheme, parts.hostname, port or MQTT_SCHEMES[parts.scheme]


def _validate_broker_url(value: str) -> None:
    try:
        broker_address(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class MqttSettings(models.Model):
    """Where and how the MQTT publisher sends each device's state (one row).

    The password is stored so the publisher can log in; it is never shown back (the admin
    field is write-only, exports leave it out) and never logged.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    enabled = models.BooleanField(default=False, help_text="Publish to the broker")
    broker_url = models.CharField(max_length=255, blank=True, default="", validators=[_validate_broker_url],
                                  help_text="mqtt://host:port, or mqtts://host:port for TLS")
    username = models.CharField(max_length=255, blank=True, default="")
    password = models.CharField(max_length=255, blank=True, default="",
                                help_text="Stored for the publisher; never shown back")
    client_id = models.CharField(max_length=128, default="solarmon")
    base_topic = models.CharField(max_length=255, default="solarmon",
                                  help_text="Prefix of every state topic")
    discovery_prefix = models.CharField(max_length=255, default="homeassistant",
                                        help_text="Home Assistant's discovery prefix")
    discovery_enabled = models.BooleanField(default=True, help_text="Publish Home Assistant discovery "
                                            "configs")
    retain = models.BooleanField(default=True, help_text="Publish states and configs retained")
    qos = models.PositiveSmallIntegerField(default=1, choices=[(0, "0"), (1, "1"), (2, "2")])
    tls_ca_file = models.CharField(max_length=1024, blank=True, default="",
                                   help_text="CA certificate file for mqtts:// (empty = the system's)")
    legacy_ids = models.BooleanField(default=False, help_text="Keep the original system's unique ids "
                                     "and topics, so Home Assistant entities of a migrated "
                                     "installation stay the same")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "mqtt_settings"
        verbose_name = "MQTT settings"
        verbose_name_plural = "MQTT settings"
        constraints = [models.CheckConstraint(condition=Q(id=SINGLETON_ID), name="mqtt_settings_singleton")]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"MQTT {self.broker_url or '(no broker)'} ({state})"

    def clean(self) -> None:
        if self.enabled and not self.broker_url:
            raise ValidationError({"broker_url": "required when publishing is enabled"})
        if self.tls_ca_file and not self.broker_url.startswith("mqtts://"):
            raise ValidationError({"tls_ca_file": "only used with an mqtts:// broker"})

    @classmethod
    def current(cls) -> MqttSettings:
        """The stored settings, or the defaults (unsaved) when there are none."""
        return cls.objects.filter(pk=SINGLETON_ID).first() or cls()


class MqttPackOption(models.Model):
    """Per-pack MQTT option: whether each cell becomes a Home Assistant sensor.

    Left empty, cells are published for packs of up to ``CELLS_AUTO_LIMIT`` cells in all
    (a 16-unit rack of 16 cells would otherwise add 256 entities).
    """

    pack = models.OneToOneField("catalog.BatteryPack", on_delete=models.CASCADE, primary_key=True,
                                db_column="pack_id", related_name="mqtt_option")
    publish_cells = models.BooleanField(null=True, blank=True, help_text="Cell sensors in Home Assistant; "
                                        "empty = on for packs of up to 32 cells")

    class Meta:
        db_table = "mqtt_pack_options"
        verbose_name = "MQTT pack option"

    def __str__(self) -> str:
        return f"MQTT cells of {self.pack_id}: {self.publish_cells}"


class MqttClientStatus(models.Model):
    """What one worker process's MQTT client reports (written by the worker, read by the web).

    Rows are updated at most every few seconds; a row not updated for a while belongs to a
    process that has stopped.
    """

    client_id = models.CharField(max_length=200, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    broker = models.CharField(max_length=300, help_text="scheme://host:port, never the credentials")
    connected = models.BooleanField(default=False)
    protocol = models.CharField(max_length=16, blank=True, default="")
    published = models.BigIntegerField(default=0, help_text="Messages handed to the broker")
    dropped = models.BigIntegerField(default=0, help_text="Messages not sent: queue full, or "
                                     "replaced by a newer state while the broker was away")
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    connected_since = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "mqtt_client_status"
        verbose_name = "MQTT client status"
        verbose_name_plural = "MQTT client status"
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.client_id}: {'connected' if self.connected else 'not connected'}"


class EnergyMark(models.Model):
    """The highest value published for one energy sensor (and the local day it belongs to).

    Home Assistant books a decrease of a ``total_increasing`` sensor as a new meter, so a
    published energy never goes below its mark, across restarts too.
    """

    key = models.CharField(max_length=255, primary_key=True)
    value = models.FloatField()
    day = models.DateField(null=True, blank=True, help_text="Local day of a 'today' sensor")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "mqtt_energy_marks"

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"
def _validate_apprise_url(value: str) -> None:
    from integrations.notifications import check_apprise_url

    problem = check_apprise_url(value)
    if problem:
        raise ValidationError(problem)


class NotificationChannel(models.Model):
    """Where alerts are sent: an Apprise URL (push services, webhooks) or e-mail addresses.

    The URL usually carries a token or password, so it is write-only: the admin and the API show
    only ``url_display`` (scheme and host), and delivery errors are scrubbed of its parts before
    they are stored or logged.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices, default=ChannelKind.APPRISE)
    url = models.CharField(max_length=2000, blank=True, default="", validators=[_validate_apprise_url],
                           help_text="Apprise URL, e.g. ntfys://token@ntfy.sh/topic, "
                           "tgram://bot-token/chat-id, json://host:port/path; stored, never shown back")
    email_to = models.CharField(max_length=1000, blank=True, default="",
                                help_text="E-mail recipients, separated by commas")
    enabled = models.BooleanField(default=True)
    min_severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING,
                                    help_text="Send alerts of this severity and above")
    send_cleared = models.BooleanField(default=True, help_text="Also say when an alert clears")
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, default="", editable=False,
                                  help_text="Why the last delivery failed (secrets removed)")
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notification_channels"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def url_display(self) -> str:
        """The URL with everything that may be secret left out."""
        from integrations.notifications import redact_url

        return redact_url(self.url) if self.url else ""

    def recipients(self) -> list[str]:
        return [a.strip() for a in self.email_to.split(",") if a.strip()]

    def clean(self) -> None:
        if self.kind == ChannelKind.APPRISE and not self.url:
            raise ValidationError({"url": "an Apprise channel needs a URL"})
        if self.kind == ChannelKind.EMAIL:
            if not self.recipients():
                raise ValidationError({"email_to": "an e-mail channel needs at least one address"})
            for address in self.recipients():
                try:
                    validate_email(address)
                except ValidationError:
                    raise ValidationError({"email_to": f"{address!r} is not an e-mail address"}) from None


class NotificationDelivery(models.Model):
    """One message of one alert event to one channel: sent once, retried with backoff until then."""

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="deliveries")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=16, choices=AlertEvent.choices)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notification_deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["channel", "alert", "event"],
                                               name="uq_delivery_channel_alert_event")]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.event} → {self.channel_id} ({self.status})"
