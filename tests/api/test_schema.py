"""The OpenAPI schema: valid, served to logged-in users, and it describes every endpoint, field and enum."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog.api.urls import RESOURCES

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(reader_api: APIClient) -> dict[str, Any]:
    response = reader_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_the_schema_validates_without_warnings(tmp_path: Path) -> None:
    # Raises on any warning or on a schema that does not validate against OpenAPI 3.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "openapi: 3" in (tmp_path / "schema.yml").read_text()


def test_every_catalog_resource_is_in_the_schema(schema: dict[str, Any]) -> None:
    for name in ("systems", "arrays", "inverters", "battery-arrays", "battery-packs", "batteries", "cells",
                 "meters", "adapter-types", "adapters", "pack-adapters", "attachments"):
        assert f"/api/{name}/" in schema["paths"]
    assert "/api/systems/{system_id}/hierarchy/" in schema["paths"]


def _catalog_paths(schema: dict[str, Any]) -> dict[str, Any]:
    """The catalog's list and detail paths, and the hierarchy."""
    prefixes = "|".join(re.escape(prefix) for prefix, _viewset in RESOURCES)
    pattern = re.compile(rf"^/api/({prefixes})/(\{{[a-z_]+\}}/)?$")
    return {path: ops for path, ops in schema["paths"].items()
            if pattern.match(path) or path == "/api/systems/{system_id}/hierarchy/"}


def _components_used(schema: dict[str, Any], start: Any) -> dict[str, Any]:
    """The components that ``start`` refers to, directly or through other components."""
    found: dict[str, Any] = {}
    todo = [start]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            ref = item.get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            if ref and name not in found:
                found[name] = schema["components"]["schemas"][name]
                todo.append(found[name])
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return found


def test_every_catalog_operation_has_a_description(schema: dict[str, Any]) -> None:
    paths = _catalog_paths(schema)
    missing = [f"{method.upper()} {path}" for path, ops in paths.items()
               for method, op in ops.items() if method in METHODS and not op.get("description")]
    assert len(paths) >= 25 and missing == []


def test_every_catalog_field_and_parameter_has_a_description(schema: dict[str, Any]) -> None:
    paths = _catalog_paths(schema)
    components = _components_used(schema, paths)
    missing = [f"{name}.{prop}" for name, component in components.items()
               for prop, spec in component.get("properties", {}).items() if not spec.get("description")]
    missing += [f"{path} ?{param['name']}" for path, ops in paths.items()
                for method, op in ops.items() if method in METHODS
                for param in op.get("parameters", []) if not param.get("description")]
    assert {"Inverter", "SystemTree", "PackNode", "PollingStatus"} <= set(components)
    assert missing == [], missing


def test_every_catalog_enum_lists_its_values(schema: dict[str, Any]) -> None:
    used = _components_used(schema, _catalog_paths(schema))
    enums = {name: c for name, c in used.items() if "enum" in c}
    assert {"PhaseTypeEnum", "DeviceCategoryEnum"} <= set(enums)
    for name, component in enums.items():
        values = [v for v in component["enum"] if v not in ("", None)]
        assert all(f"`{value}`" in component.get("description", "") for value in values), name


def test_meter_type_values_come_from_the_catalog_choices(schema: dict[str, Any]) -> None:
    meter = schema["components"]["schemas"]["Meter"]["properties"]["type"]
    refs = [item["$ref"].rsplit("/", 1)[1] for item in meter["oneOf"] if "$ref" in item]
    values = {v for ref in refs for v in schema["components"]["schemas"][ref]["enum"]}
    assert {"grid", "consumption", "production"} <= values


def test_swagger_ui_is_served_to_logged_in_users(reader_api: APIClient) -> None:
    page = reader_api.get("/api/docs/")
    assert page.status_code == 200
    assert b"swagger-ui" in page.content
