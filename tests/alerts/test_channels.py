"""Notification channels: secrets never shown or logged, failures retried and shown, e-mail, filters."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts.kinds.base import Finding, Observation
from alerts.models import AlertRule
from alerts.services import alert_raise
from integrations.models import NotificationChannel, NotificationDelivery
from integrations.notifications import redact_url
from integrations.tasks import MAX_RETRIES
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

SECRET = "hunter2-very-secret"


@pytest.mark.parametrize("url", [
    f"json://user:{SECRET}@127.0.0.1:8080/hook", f"ntfys://{SECRET}@ntfy.sh/{SECRET}",
    f"tgram://123456:{SECRET}/98765", f"pover://{SECRET}@{SECRET}", f"json://example.org/hooks/{SECRET}",
    f"gotify://gotify.example.org/{SECRET}", f"json://example.org/hook?+Authorization={SECRET}",
])
def test_a_channel_url_is_never_shown_with_its_secret(url: str) -> None:
    shown = redact_url(url)
    assert SECRET not in shown and "123456" not in shown
    assert shown.startswith(url.split("://")[0] + "://")


def test_a_url_apprise_does_not_know_is_refused_naming_its_scheme() -> None:
    channel = NotificationChannel(name="bad", url=f"nosuchservice://{SECRET}@host")
    with pytest.raises(ValidationError) as caught:
        channel.full_clean()
    assert "nosuchservice" in str(caught.value) and SECRET not in str(caught.value)


def _raise(severity: str = "warning") -> None:
    sys = f.system("system")
    rule = AlertRule.objects.get(key="cell-spread")
    rule.severity = severity
    rule.save()
    alert_raise(rule, Finding("battery_pack", "pack1", sys.pk, Observation(True, False, {"spread_mv": 61.0})),
                timezone.now(), None)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_failing_channel_is_retried_then_shows_its_last_error_without_the_secret(
        eager_tasks: None, django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture) -> None:
    url = f"json://owner:{SECRET}@127.0.0.1:{_closed_port()}/hooks/{SECRET}x"
    channel = NotificationChannel.objects.create(name="dead hook", url=url)
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        _raise()
    delivery = NotificationDelivery.objects.get()
    channel.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == MAX_RETRIES + 1
    assert channel.last_error and channel.last_error_at is not None and channel.last_sent_at is None
    assert SECRET not in channel.last_error and SECRET not in delivery.last_error
    assert SECRET not in caplog.text and "notification to dead hook failed" in caplog.text


def test_an_email_channel_sends_through_djangos_mail(django_capture_on_commit_callbacks: Any,
                                                     eager_tasks: None, mailoutbox: list[Any]) -> None:
    NotificationChannel.objects.create(name="owner mail", kind="email",
                                       email_to="owner@example.org, b@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        _raise()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["owner@example.org", "b@example.org"]
    assert "Cell spread 61.0 mV on Battery pack pack1" in mailoutbox[0].subject
    assert "spread_mv: 61.0" in mailoutbox[0].body


def test_a_channel_for_critical_alerts_ignores_warnings(django_capture_on_commit_callbacks: Any,
                                                        eager_tasks: None, mailoutbox: list[Any]) -> None:
    NotificationChannel.objects.create(name="pager", kind="email", email_to="pager@example.org",
                                       min_severity="critical")
    with django_capture_on_commit_callbacks(execute=True):
        _raise("warning")
    assert mailoutbox == [] and not NotificationDelivery.objects.exists()


def test_an_email_channel_needs_valid_addresses() -> None:
    with pytest.raises(ValidationError) as caught:
        NotificationChannel(name="typo", kind="email",
                            email_to="owner@example.org, not-an-address").full_clean()
    assert "not-an-address" in str(caught.value)
