"""Alerts on the dashboard: the banner on every page, the alerts page, acknowledging in place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.kinds.base import Finding, Observation
from alerts.models import Alert, AlertRule, AlertWatch
from alerts.services import alert_clear, alert_raise
from tests import factories as f
from tests.dashboard.conftest import fits_phone, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(60)]


def _raise(key: str, kind: str, device: str, values: dict[str, Any], ago_s: int) -> Alert:
    alert = alert_raise(AlertRule.objects.get(key=key), Finding(kind, device, "system", Observation(
        True, False, values)), timezone.now() - timedelta(seconds=ago_s), None)
    assert alert is not None
    return alert


def test_the_banner_names_the_active_alerts_and_the_page_lets_a_user_acknowledge_them(page: Any) -> None:
    f.system("system")
    page.goto("/")
    assert page.locator("#alert-banner").count() == 0  # nothing wrong, nothing shown
    old = _raise("cell-spread", "battery_pack", "pack1", {"spread_mv": 64.0}, 7200)
    alert_clear(AlertWatch.objects.get(alert=old), {"spread_mv": 9.0}, timezone.now() - timedelta(hours=1))
    _raise("soc-low", "battery_pack", "pack1", {"soc": 14.0}, 120)
    offline = _raise("offline-inverter", "inverter", "powdrive1", {"state": "offline"}, 900)

    page.goto("/battery/")
    banner = page.locator("#alert-banner")
    assert banner.get_attribute("data-count") == "2" and "critical" in (banner.get_attribute("class") or "")
    text = banner.inner_text()
    assert "2 active alerts" in text and "Inverter powdrive1 is offline" in text
    assert "Battery pack pack1 at 14.0 % charge" in text and "Cell spread" not in text
    screenshot(page, "alerts-banner")

    banner.get_by_role("link", name="See all alerts").click()
    page.wait_for_url("**/alerts/")
    assert page.locator("#alert-banner").count() == 0  # the page itself says it all
    rows = page.locator("#active-alerts tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-alert-id") == str(offline.pk)  # critical first
    history = page.locator("#alert-history tbody tr")
    assert history.count() == 1 and "Cell spread back to normal" in history.first.inner_text()
    assert "spread_mv: 64.0" in history.first.inner_text()

    row = page.locator(f'#active-alerts tr[data-alert-id="{offline.pk}"]')
    row.get_by_role("button", name="Acknowledge").click()
    assert row.locator('[data-field="acknowledged"]').inner_text().startswith("by admin")
    offline.refresh_from_db()
    assert offline.acknowledged_by is not None and offline.acknowledged_by.username == "admin"
    page.reload()
    assert "by admin" in page.locator(f'#active-alerts tr[data-alert-id="{offline.pk}"]').inner_text()
    screenshot(page, "alerts-desktop")
    fits_phone(page)
    screenshot(page, "alerts-phone")
