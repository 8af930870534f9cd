"""Every dashboard page needs a login, its own: owners (any user) and installers (staff) alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.dashboard.conftest import DESKTOP, PASSWORD, Problems, new_context

PAGES = ["/", "/history/", "/battery/", "/discovery/", "/history.csv", "/today.json"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_a_logged_out_user_is_sent_to_the_dashboard_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.django_db
def test_an_owner_who_is_not_staff_reads_the_dashboard_and_api_but_not_the_admin(client: Client) -> None:
    User.objects.create_user("owner", password=PASSWORD)
    response = client.post("/login/", {"username": "owner", "password": PASSWORD, "next": "/battery/"})
    assert response.status_code == 302 and response["Location"] == "/battery/"
    page = client.get("/battery/")
    assert page.status_code == 200
    assert b'href="/admin/"' not in page.content  # no admin link for owners
    assert client.get("/api/systems/").status_code == 200
    assert client.post("/api/systems/", {"system_id": "s2", "name": "x"}).status_code == 403
    assert client.get("/admin/").status_code == 302  # the admin asks for a staff login


@pytest.mark.django_db
def test_a_wrong_password_on_the_dashboard_login_says_so(client: Client) -> None:
    User.objects.create_user("owner", password=PASSWORD)
    response = client.post("/login/", {"username": "owner", "password": "wrong"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(60)
def test_logging_in_through_the_dashboard_form_returns_to_the_page(
        browser: Any, live_server: Any, admin_user: User, problems: Problems) -> None:
    context = new_context(browser, live_server, DESKTOP, problems)
    page = context.new_page()
    page.goto("/battery/")
    assert "/login/" in page.url and "next=/battery/" in page.url
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/battery/")
    assert page.locator("h1").first.inner_text() == "No system yet"
    assert page.locator("a", has_text="Admin").first.get_attribute("href") == "/admin/"
    context.close()
    assert not problems, "\n".join(problems)
