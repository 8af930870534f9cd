"""Every dashboard page needs the admin's login, and after logging in the user is back on the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.dashboard.conftest import DESKTOP, PASSWORD, Problems, new_context

PAGES = ["/", "/history/", "/battery/", "/discovery/", "/history.csv", "/today.json"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_a_logged_out_user_is_sent_to_the_admin_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={path}"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_logging_in_through_the_admin_form_returns_to_the_page(
        browser: Any, live_server: Any, admin_user: User, problems: Problems) -> None:
    context = new_context(browser, live_server, DESKTOP, problems)
    page = context.new_page()
    page.goto("/battery/")
    assert "/admin/login/" in page.url and "next=/battery/" in page.url
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/battery/")
    assert page.locator("h1").first.inner_text() == "No system yet"
    assert page.locator("a", has_text="Admin").first.get_attribute("href") == "/admin/"
    context.close()
    assert not problems, "\n".join(problems)
