"""Delivering alerts to notification channels: e-mail (Django's mail) and Apprise URLs.

``queue_deliveries`` listens to ``alerts.signals.alert_changed``: for each channel that wants
the event it records a ``NotificationDelivery`` and queues one Celery task, so the poll that
raised the alert never waits for a mail server or a push service. ``deliver`` (the task's body)
sends once: a delivery already sent is not sent again when a task is delivered twice.

Channel URLs carry tokens and passwords. They are never shown back (``redact_url``) and every
error text is passed through ``scrub`` before it is stored or logged; Apprise's own log, which
can quote a URL, is captured rather than let through (see LOGGING in settings).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import apprise
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.choices import AlertEvent, Severity
from alerts.models import Alert
from integrations.choices import ChannelKind, DeliveryStatus
from integrations.models import NotificationChannel, NotificationDelivery

log = logging.getLogger(__name__)

SEVERITY_RANK: dict[str, int] = {Severity.WARNING: 0, Severity.CRITICAL: 1}
_HOSTNAME = re.compile(r"^(localhost|\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:]+|([a-z0-9-]+\.)+[a-z]{2,})$",
                       re.IGNORECASE)
_WHY = re.compile(r"error|exception|fail|refused|denied|timed? ?out|status|response", re.IGNORECASE)
_MIN_SECRET = 4  # shorter URL parts ("json", "80") are not worth hiding and would mangle messages


class DeliveryFailed(Exception):
    """A channel did not take the message; the text is already scrubbed of secrets."""


# ---- secrets ------------------------------------------------------------------------------
def redact_url(url: str) -> str:
    """``scheme://host/…``: the host only when it is a plain host name or address (in many Apprise
    URLs the "host" is a token), never the user, password, path or query."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        host, port = "", None
    shown = host if _HOSTNAME.match(host) else ""
    if shown and port:
        shown += f":{port}"
    return f"{scheme}://{shown}/…" if shown else f"{scheme}://…"


def _secret_parts(url: str) -> set[str]:
    """Every piece of the URL that may be a secret, as written and decoded."""
    try:
        parts = urlsplit(url)
        pieces = [parts.username, parts.password, parts.hostname, *parts.path.split("/"),
                  *(value for pair in parse_qsl(parts.query) for value in pair), parts.fragment]
        pieces += parts.netloc.replace("@", ":").split(":")
    except ValueError:
        pieces = re.split(r"[/:@?&=#]", url)
    found = set()
    for piece in pieces:
        if piece and len(piece) >= _MIN_SECRET and not _HOSTNAME.match(piece):
            found |= {piece, unquote(piece), quote(piece, safe="")}
    return found


def scrub(text: str, url: str) -> str:
    """``text`` with every part of ``url`` that may be secret replaced by ``****``."""
    for secret in sorted(_secret_parts(url), key=len, reverse=True):
        text = text.replace(secret, "****")
    return text


def check_apprise_url(url: str) -> str:
    """Why Apprise cannot use ``url`` (naming only its scheme), or "" when it can."""
    if not url:
        return ""
    if apprise.Apprise.instantiate(url) is None:
        scheme = url.split("://", 1)[0] if "://" in url else "(none)"
        return (f"Apprise does not understand this URL (scheme {scheme!r}); see the Apprise wiki for "
                "the URL of each service")
    return ""


# ---- messages -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    title: str
    body: str
    severity: str
    cleared: bool


def message_for(alert: Alert, event: str) -> Message:
    """The notification text of one alert event."""
    cleared = event == AlertEvent.CLEARED
    lines = [alert.headline(), "", f"Rule: {alert.rule.name}",
             f"Raised: {alert.raised_at:%Y-%m-%d %H:%M:%S} UTC"]
    if alert.cleared_at:
        lines.append(f"Cleared: {alert.cleared_at:%Y-%m-%d %H:%M:%S} UTC")
    values = alert.clear_values if cleared and alert.clear_values else alert.values
    lines += [f"{key}: {value}" for key, value in values.items() if value not in (None, "")]
    prefix = "Cleared" if cleared else alert.severity.capitalize()
    return Message(f"solarmon · {prefix}: {alert.headline()}", "\n".join(lines), alert.severity, cleared)


# ---- senders (kind → class) ---------------------------------------------------------------
class Sender:
    """Sends one message through one channel; raises ``DeliveryFailed`` (scrubbed)."""

    kind: ClassVar[str]

    def send(self, channel: NotificationChannel, message: Message) -> None:
        raise NotImplementedError


class AppriseSender(Sender):
    kind = ChannelKind.APPRISE

    def send(self, channel: NotificationChannel, message: Message) -> None:
        sender = apprise.Apprise()
        if not sender.add(channel.url):
            raise DeliveryFailed(check_apprise_url(channel.url) or "Apprise refused the URL")
        kind = (apprise.NotifyType.SUCCESS if message.cleared else apprise.NotifyType.FAILURE
                if message.severity == Severity.CRITICAL else apprise.NotifyType.WARNING)
        # Apprise says why only at debug level ("Connection refused", the HTTP status); its lines
        # may quote the URL, so they are kept here and scrubbed, never passed to the log.
        with apprise.LogCapture(level=logging.DEBUG, fmt="%(message)s") as captured:
            sent = sender.notify(title=message.title, body=message.body, notify_type=kind)
        if not sent:
            said = [line for line in captured.getvalue().splitlines() if _WHY.search(line)]
            raise DeliveryFailed(scrub(" / ".join(said[-3:]) or "the service did not take the message",
                                       channel.url)[:1000])


class EmailSender(Sender):
    kind = ChannelKind.EMAIL

    def send(self, channel: NotificationChannel, message: Message) -> None:
        try:
            send_mail(message.title, message.body, None, channel.recipients())
        except Exception as exc:  # smtplib and socket errors alike: the text is what the owner needs
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:1000]) from None


SENDERS: dict[str, Sender] = {s.kind: s for s in (AppriseSender(), EmailSender())}


# ---- queueing and delivering ----------------------------------------------------------------
def wants(channel: NotificationChannel, alert: Alert, event: str) -> bool:
    """Whether the channel takes this event of this alert."""
    if event == AlertEvent.ACKNOWLEDGED or (event == AlertEvent.CLEARED and not channel.send_cleared):
        return False
    return SEVERITY_RANK.get(alert.severity, 0) >= SEVERITY_RANK.get(channel.min_severity, 0)


def queue_deliveries(sender: Any, *, alert: Alert, event: str, **kwargs: Any) -> None:
    """``alert_changed`` receiver: one delivery row and one Celery task per interested channel."""
    from integrations.tasks import deliver_notification

    for channel in NotificationChannel.objects.filter(enabled=True):
        if not wants(channel, alert, event):
            continue
        try:
            with transaction.atomic():
                delivery = NotificationDelivery.objects.create(channel=channel, alert=alert, event=event)
        except IntegrityError:
            continue  # this event was queued already
        try:
            deliver_notification.apply_async(args=(delivery.pk,), retry=False)
        except Exception as exc:  # a broker that is down must not stop the poll that raised the alert
            log.error("could not queue the notification %s to %s: %s", delivery.pk, channel.name, exc)


def deliver(delivery_id: int, final: bool) -> bool:
    """Send one delivery unless it was sent already; True when sent now.

    A failure is recorded on the delivery and its channel (scrubbed) and raised again as
    ``DeliveryFailed`` for the task to retry, unless ``final``: then the delivery is marked failed.
    """
    delivery = NotificationDelivery.objects.select_related("channel", "alert__rule").filter(
        pk=delivery_id).first()
    if delivery is None or delivery.status == DeliveryStatus.SENT:
        return False
    channel, now = delivery.channel, timezone.now()
    delivery.attempts += 1
    try:
        SENDERS[channel.kind].send(channel, message_for(delivery.alert, delivery.event))
    except DeliveryFailed as exc:
        error = scrub(str(exc), channel.url)
        delivery.last_error, channel.last_error, channel.last_error_at = error, error, now
        if final:
            delivery.status = DeliveryStatus.FAILED
        delivery.save(update_fields=["attempts", "last_error", "status"])
        channel.save(update_fields=["last_error", "last_error_at"])
        log.warning("notification to %s failed (attempt %d): %s", channel.name, delivery.attempts, error)
        if final:
            return False
        raise DeliveryFailed(error) from None
    delivery.status, delivery.sent_at = DeliveryStatus.SENT, now
    delivery.save(update_fields=["attempts", "status", "sent_at"])
    NotificationChannel.objects.filter(pk=channel.pk).update(last_sent_at=now, last_error="")
    return True


def channel_save(channel: NotificationChannel) -> NotificationChannel:
    """Validate and save a channel (admin and API)."""
    channel.full_clean()
    channel.save()
    return channel
