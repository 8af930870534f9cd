"""Hostile config files are refused before they cost memory or time: each limit is named with the
line where it was hit, and nothing is written. Descriptions are bounded on the API too."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management.base import CommandError
from django.test import override_settings
from rest_framework.test import APIClient

from catalog import models as m
from tests import factories as f
from tests.yaml.conftest import run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

HOME = "home:\n  id: system\n"


def _refused(path: Path) -> str:
    with pytest.raises(CommandError) as caught:
        run("import_yaml", str(path))
    assert not m.System.objects.exists()
    return str(caught.value)


def test_an_alias_bomb_is_refused_by_its_expanded_size(write_yaml: object) -> None:
    lines = [HOME, 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n']
    for name, previous in zip("bcdefghij", "abcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n")
    message = _refused(write_yaml("".join(lines)))  # type: ignore[operator]
    assert "more than SOLARMON_YAML_MAX_NODES (50,000) values once aliases are expanded" in message
    assert "line 7)" in message  # e: 9**5 values is the first mapping entry over the limit


def test_deep_nesting_is_refused_at_the_depth_limit(write_yaml: object) -> None:
    depth = 50_000
    message = _refused(write_yaml(HOME + "arrays: " + "[" * depth + "]" * depth + "\n"))  # type: ignore[operator]
    assert "nested deeper than SOLARMON_YAML_MAX_DEPTH (32 levels) (config.yaml line 3)" in message


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    message = _refused(path)
    assert "the file is 52,428,800 bytes, more than SOLARMON_YAML_MAX_BYTES (262,144 bytes)" in message


@override_settings(SOLARMON_YAML_MAX_BYTES=4096)
def test_the_size_limit_is_a_setting(write_yaml: object) -> None:
    many = "".join(f"  - id: array{i}\n" for i in range(400))
    message = _refused(write_yaml(HOME + "arrays:\n" + many))  # type: ignore[operator]
    assert "more than SOLARMON_YAML_MAX_BYTES (4,096 bytes)" in message


def test_a_very_long_value_is_refused_with_its_line(write_yaml: object) -> None:
    text = HOME + "  name: Home\n  description: " + "x" * 10_000 + "\n"
    message = _refused(write_yaml(text))  # type: ignore[operator]
    assert "a value of 10,000 characters, more than SOLARMON_YAML_MAX_STRING_CHARS (4,096)" in message
    assert "(config.yaml line 4)" in message


def test_a_description_longer_than_the_column_allows_is_refused(write_yaml: object) -> None:
    text = HOME + "  description: " + "x" * 3000 + "\n"
    message = _refused(write_yaml(text))  # type: ignore[operator]
    assert "home.description: Ensure this value has at most 2000 characters (it has 3000)" in message
    assert "(config.yaml line 3)" in message


def test_the_api_refuses_an_oversized_description() -> None:
    from django.contrib.auth.models import User

    f.system("system")
    client = APIClient()
    client.force_authenticate(User.objects.create_user("staff", is_staff=True))
    long = client.patch("/api/systems/system/", {"description": "x" * 3000}, format="json")
    assert long.status_code == 400
    assert "no more than 2000 characters" in str(long.json())
    huge = client.patch("/api/systems/system/", {"description": "x" * 50_000_000}, format="json")
    assert huge.status_code in (400, 413)
    assert m.System.objects.get().description is None
