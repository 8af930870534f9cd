"""Browser fixtures: one headless Chromium per test session, a logged-in page per test.

Each page records console errors, uncaught exceptions and any request to a host other than
this machine (such requests are also blocked); a test fails if any happened.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from solarmon.demo import DemoRig, enable_simulated_ble
from telemetry.derive import derive_samples
from telemetry.polling import close_readers, device_refs, poll_device, slot_for
from tests.telemetry.conftest import build_installation

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
PASSWORD = "dashboard-tests-only"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Every URL that is not on this machine (nor data:/blob:) is recorded and refused.
NOT_LOCAL = re.compile(r"^(?!(data|blob|about):)(?!https?://(localhost|127\.0\.0\.1|\[::1\])[:/]).*")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), started once per test session."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required under CI (tests/setup/ensure_packages.sh installs it)")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop registered in this thread while the browser
    # runs, which Django takes for an async context and so refuses ORM calls from the tests.
    # The tests stay synchronous (the loop only carries Playwright's messages), so allow them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def admin_user(transactional_db: None) -> User:
    return User.objects.create_superuser("admin", password=PASSWORD)


class Problems(list[str]):
    """What went wrong in the browser while a test ran."""

    def watch(self, context: Any) -> None:
        context.route(NOT_LOCAL, self._refuse)
        context.on("page", self._watch_page)

    def _refuse(self, route: Any) -> None:
        self.append(f"request to another host: {route.request.url}")
        route.abort()

    def _watch_page(self, page: Any) -> None:
        def on_console(message: Any) -> None:
            if message.type == "error":
                self.append(f"console error on {page.url}: {message.text} {message.location.get('url', '')}")

        def on_request(request: Any) -> None:
            # WebSockets and the like do not pass through routes: catch them here.
            parts = urlsplit(request.url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
                self.append(f"request to another host: {request.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.append(f"uncaught error on {page.url}: {exc}"))
        page.on("request", on_request)


def new_context(browser: Any, live_server: Any, viewport: dict[str, int], problems: Problems,
                user: User | None = None, **options: Any) -> Any:
    """A browser context on the live server, logged in as ``user`` (a session made by the test client);
    ``options`` go to Playwright (``has_touch=True`` for a phone)."""
    context = browser.new_context(base_url=live_server.url, viewport=viewport, **options)
    context.set_default_timeout(15_000)
    problems.watch(context)
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    return context


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def page(browser: Any, live_server: Any, admin_user: User, problems: Problems) -> Iterator[Any]:
    """A desktop-sized page, logged in as a staff user; the test fails on any browser problem."""
    context = new_context(browser, live_server, DESKTOP, problems, admin_user)
    yield context.new_page()
    context.close()
    assert not problems, "\n".join(problems)


def api(page: Any, path: str) -> Any:
    """GET an API path with the page's session, as the page's own scripts do."""
    response = page.request.get(path)
    assert response.ok, f"{path}: {response.status}"
    return response.json()


def fits_phone(page: Any) -> None:
    """Turn the page to a phone's screen and check that nothing is wider than it.

    The charts follow their container's width on their own (a ResizeObserver, after the next
    frame), so the page is given a few seconds to settle before the width is read."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.set_viewport_size(PHONE)
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"() => document.documentElement.scrollWidth <= {PHONE['width']}",
                               timeout=5000)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def screenshot(page: Any, name: str) -> None:
    """Save a screenshot when SOLARMON_SCREENSHOTS names a folder (for looking at pages by eye)."""
    folder = os.environ.get("SOLARMON_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


# ---- data ---------------------------------------------------------------------------------
@pytest.fixture
def demo_site(transactional_db: None) -> Iterator[DemoRig]:
    """The telemetry tests' installation, committed, with a real simulator behind every adapter."""
    build_installation()
    origin = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    rig = DemoRig(origin)
    rig.start()
    enable_simulated_ble(origin)
    yield rig
    close_readers()
    rig.stop()


def poll_all(system_id: str = "system") -> datetime:
    """Poll every device once (one slot) and derive the array and system samples."""
    slot = slot_for(timezone.now(), 5)
    for ref in device_refs(system_id):
        poll_device(ref, slot)
    derive_samples(system_id, slot)
    return slot
