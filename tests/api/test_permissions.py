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
from solarmon.health import BEAT, WORKER, beat

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

REGISTRY = [(prefix, viewset) for prefix, viewset, _basename in router.registry]
REFUSED = {401, 403}


def _urls(prefix: str, viewset: Any) -> tuple[str, str | None, bool]:
    """List URL; a detail URL (an existing row's when there is one) unless the resource has no
    detail route; and whether that row exists."""
    queryset = getattr(viewset, "queryset", None)
    row = queryset.first() if queryset is not None else None
    detail = f"/api/{prefix}/{row.pk if row else 'no-such-row'}/" if hasattr(viewset, "retrieve") else None
    return f"/api/{prefix}/", detail, row is not None


def _allowed(status: int) -> bool:
    """Not refused for lack of rights (other answers, e.g. a 400 for a missing filter, are fine)."""
    return status not in REFUSED and status < 500


def _updatable(viewset: Any) -> bool:
    return "patch" in viewset.http_method_names and hasattr(viewset, "partial_update")


def _count(viewset: Any) -> int | None:
    queryset = getattr(viewset, "queryset", None)
    return queryset.count() if queryset is not None else None


def test_the_registry_holds_the_catalog_resources() -> None:
    assert {"systems", "inverters", "cells", "adapter-types", "attachments"} <= {p for p, _ in REGISTRY}


@pytest.mark.parametrize("prefix", ["systems", "inverters", "cells", "adapter-types", "pack-adapters",
                                    "attachments"])
def test_the_fixture_gives_catalog_resources_a_row_to_check(catalog: Any, prefix: str) -> None:
    viewset = dict(REGISTRY)[prefix]
    assert _urls(prefix, viewset)[2], f"no {prefix} row: its detail URL would only be checked for 404"


@pytest.mark.parametrize(("prefix", "viewset"), REGISTRY, ids=[p for p, _ in REGISTRY])
def test_anonymous_users_get_nothing(anon_api: APIClient, catalog: Any, prefix: str, viewset: Any) -> None:
    before = _count(viewset)
    list_url, detail_url, _ = _urls(prefix, viewset)
    assert anon_api.get(list_url).status_code in REFUSED
    assert anon_api.post(list_url, {}, format="json").status_code in REFUSED
    if detail_url:
        assert anon_api.get(detail_url).status_code in REFUSED
        for method in ("put", "patch", "delete"):
            assert getattr(anon_api, method)(detail_url, {}, format="json").status_code in REFUSED, method
    assert _count(viewset) == before  # the refused DELETE removed nothing


@pytest.mark.parametrize(("prefix", "viewset"), REGISTRY, ids=[p for p, _ in REGISTRY])
def test_readers_can_read_but_not_write(reader_api: APIClient, catalog: Any, prefix: str,
                                        viewset: Any) -> None:
    before = _count(viewset)
    list_url, detail_url, exists = _urls(prefix, viewset)
    assert _allowed(reader_api.get(list_url).status_code)
    assert reader_api.post(list_url, {}, format="json").status_code == 403
    if detail_url:
        assert reader_api.get(detail_url).status_code == (200 if exists else 404)
        for method in ("put", "patch", "delete"):
            assert getattr(reader_api, method)(detail_url, {}, format="json").status_code == 403, method
    assert _count(viewset) == before  # the refused DELETE removed nothing


@pytest.mark.parametrize(("prefix", "viewset"), REGISTRY, ids=[p for p, _ in REGISTRY])
def test_staff_can_read_and_write(staff_api: APIClient, catalog: Any, prefix: str, viewset: Any) -> None:
    list_url, detail_url, exists = _urls(prefix, viewset)
    assert _allowed(staff_api.get(list_url).status_code)
    if detail_url:
        found = 200 if exists else 404
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
    beat(WORKER)
    beat(BEAT)
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
