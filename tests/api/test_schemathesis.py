"""Property-based run of the catalog API against its own live OpenAPI schema (schemathesis).

Schemathesis reads /api/schema/ from the running WSGI application, generates requests for
every catalog operation from it, sends them as a staff user (token), and checks that no
answer is a server error and that every answer is documented: status code, content type and
body all match the schema. Generation is derandomized and bounded, so the run is repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from knox.models import AuthToken
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.api.urls import RESOURCES

pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.timeout(300)]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The catalog's list and detail paths and the hierarchy (other apps' paths under /api/systems/ excluded).
CATALOG_PATHS = r"^/api/({})/(\{{[a-z_]+\}}/)?(hierarchy/)?$".format(
    "|".join(prefix for prefix, _viewset in RESOURCES))


@pytest.fixture
def token_header(staff_user: Any) -> dict[str, str]:
    return {"Authorization": f"Token {AuthToken.objects.create(user=staff_user)[1]}"}


@pytest.fixture
def wsgi_app(catalog: Any) -> Iterator[Any]:
    """The project's WSGI application, inside the test's transaction.

    Django closes "old" connections at each request's start and end; in a test that would
    end the transaction holding the fixtures, so, as Django's own test client does, that
    hook is off while the test runs.
    """
    from solarmon.wsgi import application

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app: Any, token_header: dict[str, str]) -> Any:
    loaded = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, headers=token_header)
    # Valid requests and invalid ones (wrong types, missing fields, out-of-range values).
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=CATALOG_PATHS)
# Every other app's endpoint (telemetry, rollups, discovery), except the one that starts a real
# scan of this machine's serial ports.
OTHER_PATHS = r"^/api/((?!({})/)[a-z-]+/|systems/\{{[a-z_]+\}}/live/$)".format(
    "|".join(prefix for prefix, _viewset in RESOURCES))
other_schema = (schemathesis.pytest.from_fixture("api_schema").include(path_regex=OTHER_PATHS)
                .exclude(path_regex=r"/run/$"))


# Only Hypothesis's generate phase: the explicit phase would add schemathesis's exhaustive
# coverage cases, some fifty per operation, which multiplies the run time for little gain here.
GENERATION = settings(
    max_examples=10, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much, HealthCheck.data_too_large])


def _call_and_validate(case: Any, token_header: dict[str, str]) -> None:
    # Each request in its own savepoint, rolled back afterwards: like the server's autocommit,
    # one request's database error (answered as a 4xx) cannot spoil the next request, and every
    # request starts from the same catalog.
    savepoint = transaction.savepoint()
    try:
        case.call_and_validate(headers=token_header, checks=CHECKS)
    finally:
        transaction.savepoint_rollback(savepoint)


@schema.parametrize()
@GENERATION
def test_catalog_api_answers_every_generated_request_as_documented(case: Any,
                                                                   token_header: dict[str, str]) -> None:
    _call_and_validate(case, token_header)


@other_schema.parametrize()
@GENERATION
def test_data_api_answers_every_generated_request_as_documented(case: Any,
                                                                token_header: dict[str, str]) -> None:
    _call_and_validate(case, token_header)
