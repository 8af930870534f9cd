"""Who may do what: anonymous users nothing (but the health check), readers read, staff write.

The matrix runs over the API router's registry, so an endpoint added later is covered without
touching this file.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from solarmon.api_urls import router

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

REGISTRY = [(prefix, viewset) for prefix, viewset, _basename in router.registry]
REFUSED = {401, 403}
WRITES = ["post", "put", "patch", "delete"]


def _urls(prefix: str, viewset: Any) -> tuple[str, str, bool]:
    """List URL, a detail URL (an existing row's when there is one) and whether that row exists."""
    row = viewset.queryset.first()
    return f"/api/{prefix}/", f"/api/{prefix}/{row.pk if row else 'no-such-row'}/", row is not None


def _updatable(viewset: Any) -> bool:
    return "patch" in viewset.http_method_names and hasattr(viewset, "partial_update")


def test_the_registry_holds_the_catalog_resources() -> None:
    assert {"systems", "inverters", "cells", "adapter-types", "attachments"} <= {p for p, _ in REGISTRY}


@pytest.mark.parametrize("prefix", ["systems", "inverters", "cells", "adapter-types", "pack-adapters",
                                    "attachments"])
def test_the_fixture_gives_catalog_resources_a_row_to_check(catalog: Any, prefix: str) -> None:
    viewset = dict(REGISTRY)[prefix]
    assert _urls(prefix, viewset)[2], f"no {prefix} row: its detail URL would only be checked for 404"


@pytest.mark.parametrize(("prefix", "viewset"), REGISTRY, ids=[p for p, _ in REGISTRY])
def test_anonymous_users_get_nothing(anon_api: APIClient, catalog: Any, prefix: str, viewset: Any) -> None:
    before = viewset.queryset.count()
    list_url, detail_url, _ = _urls(prefix, viewset)
    assert anon_api.get(list_url).status_code in REFUSED
    assert anon_api.get(detail_url).status_code in REFUSED
    for method in WRITES:
        url = list_url if method == "post" else detail_url
        assert getattr(anon_api, method)(url, {}, format="json").status_code in REFUSED, method
    assert viewset.queryset.count() == before  # the refused DELETE removed nothing


@pytest.mark.parametrize(("prefix", "viewset"), REGISTRY, ids=[p for p, _ in REGISTRY])
def test_readers_can_read_but_not_write(reader_api: APIClient, catalog: Any, prefix: str,
                                        viewset: Any) -> None:
    list_url, detail_url, exists = _urls(prefix, viewset)
    found = 200 if exists else 404
    assert reader_api.get(list_url).status_code == 200
    assert reader_api.get(detail_url).status_code == found
    for method in WRITES:
        url = list_url if method == "post" else detail_url
        assert getattr(reader_api, method)(url, {}, format="json").status_code == 403, method
    assert reader_api.get(detail_url).status_code == found  # still there after the refused DELETE


@pytest.mark.parametrize(("prefix", "viewset"), REGISTRY, ids=[p for p, _ in REGISTRY])
def test_staff_can_read_and_write(staff_api: APIClient, catalog: Any, prefix: str, viewset: Any) -> None:
    list_url, detail_url, exists = _urls(prefix, viewset)
    found = 200 if exists else 404
    assert staff_api.get(list_url).status_code == 200
    assert staff_api.get(detail_url).status_code == found
    # A read-only resource refuses the method (405), not the user.
    expected = found if _updatable(viewset) else 405
    assert staff_api.patch(detail_url, {}, format="json").status_code == expected


@pytest.mark.parametrize("url", ["/api/", "/api/systems/system/hierarchy/", "/api/schema/", "/api/docs/"])
def test_other_api_pages_need_a_login(anon_api: APIClient, reader_api: APIClient, catalog: Any,
                                      url: str) -> None:
    assert anon_api.get(url).status_code in REFUSED
    assert reader_api.get(url).status_code == 200


def test_the_health_check_answers_anonymous_users(client: Client) -> None:
    response = client.get("/api/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_an_invalid_token_is_refused(catalog: Any) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/systems/")
    assert response.status_code in REFUSED
    assert response.json()["detail"] == "Invalid token."


def test_a_session_post_without_csrf_token_is_refused(staff_user: User, catalog: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_user)
    payload = {"system_id": "site2", "name": "Second site"}
    refused = browser.post("/api/systems/", payload, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    # The same request with the token from the cookie goes through: CSRF was the only obstacle.
    browser.get("/api/systems/", HTTP_ACCEPT="text/html")
    token = browser.cookies["csrftoken"].value
    accepted = browser.post("/api/systems/", payload, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_the_browsable_api_renders_for_a_logged_in_user(reader_user: User, catalog: Any) -> None:
    browser = Client()
    browser.force_login(reader_user)
    response = browser.get("/api/inverters/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "powdrive1" in page and "<html" in page.lower()
