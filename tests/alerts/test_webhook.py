"""End to end: a webhook channel (an Apprise json:// URL) hears once of each raise and each clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from alerts.models import Alert
from integrations.models import NotificationChannel, NotificationDelivery
from integrations.notifications import deliver
from solarmon.demo import DemoRig
from telemetry.polling import poll_device, slot_for
from tests.alerts.conftest import Hook, ref_of, rule

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


# Every poll's cells stored (the default keeps a pack's cell rows a minute apart).
@override_settings(SOLARMON_CELL_INTERVAL_S=0)
def test_a_webhook_receives_exactly_one_message_per_raise_and_one_per_clear(
        pack_site: DemoRig, webhook: Hook, eager_tasks: None) -> None:
    rule("cell-spread", raise_after_s=2, clear_after_s=2)
    NotificationChannel.objects.create(name="home server", url=f"json://127.0.0.1:{webhook.port}/hook")
    gateway = pack_site.by_adapter["jk_gateway"]
    gateway.low_cell = (1, 3)
    ref, start = ref_of("pack1"), slot_for(timezone.now(), 1)
    # Two episodes: drift away, hover, return; then once more.
    drops = ([0] + [80] * 4 + [38, 55] * 3 + [0] * 4) * 2
    for second, drop in enumerate(drops):
        gateway.low_cell_drop_mv = drop
        assert poll_device(ref, start + timedelta(seconds=second)).ok

    alerts = list(Alert.objects.filter(rule__key="cell-spread").order_by("raised_at"))
    assert len(alerts) == 2 and all(a.state == "cleared" for a in alerts)
    titles = [body["title"] for body in webhook.bodies]
    assert len(titles) == 4, titles
    assert ["Cell spread" in t and "Cleared" not in t for t in titles] == [True, False, True, False]
    assert ["Cleared" in t and "back to normal" in t for t in titles] == [False, True, False, True]
    assert "pack1_b0_c3" in webhook.bodies[0]["message"]  # the values that raised it
    assert webhook.bodies[1]["type"] == "success"

    # A task delivered twice (a worker restart) sends nothing more.
    for delivery in NotificationDelivery.objects.all():
        assert delivery.status == "sent" and not deliver(delivery.pk, final=False)
    assert len(webhook.bodies) == 4
    channel = NotificationChannel.objects.get()
    assert channel.last_sent_at is not None and channel.last_error == ""
