"""Unreasonable query strings are a 400, not a server error; every page carries a CSP header."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client: Client) -> Client:
    f.system()
    client.force_login(User.objects.create_user("owner"))
    return client


@pytest.mark.parametrize("query", ["day=9999-12-31", "day=0001-01-01", "period=month&month=9999-12"])
def test_a_date_outside_the_calendar_is_a_400(owner: Client, query: str) -> None:
    for page in ("/history/", "/history.csv"):
        response = owner.get(f"{page}?{query}")
        assert response.status_code == 400, (page, query)


def test_a_normal_day_still_shows(owner: Client) -> None:
    assert owner.get("/history/?day=2025-06-01").status_code == 200


@pytest.mark.parametrize("path", ["/api/systems/", "/api/inverters/", "/api/adapters/"])
def test_a_50000_character_search_is_a_400_naming_the_parameter(owner: Client, path: str) -> None:
    response = owner.get(path, {"search": "x" * 50_000})
    assert response.status_code == 400
    assert "search" in response.json()


def test_a_short_search_still_works(owner: Client) -> None:
    assert owner.get("/api/systems/", {"search": "sys"}).status_code == 200


@pytest.mark.parametrize("path", ["/admin/login/", "/api/systems/", "/api/docs/", "/login/", "/api/health/"])
def test_pages_carry_a_content_security_policy_header(owner: Client, path: str) -> None:
    policy = owner.get(path)["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
