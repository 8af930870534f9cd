"""Settings of what leaves the box.

``MqttSettings`` is one row: where the MQTT publisher connects and how it names topics. The
publisher, its API and the ``SOLARMON_MQTT_URL`` override are built on top of it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

SINGLETON_ID = 1
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
