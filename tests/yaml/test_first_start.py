"""First start: an empty database is seeded from SOLARMON_CONFIG, else the default structure."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError

from catalog import models as m
from tests import factories as f
from tests.yaml.conftest import EXAMPLE, MALFORMED, catalog_dump, run

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@pytest.fixture
def config_path(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    settings.SOLARMON_CONFIG = path
    return path


def test_empty_database_imports_the_config_file(config_path: Path) -> None:
    shutil.copy(EXAMPLE, config_path)
    output = run("first_start")
    assert "imported" in output and "from now on the configuration comes from the database" in output
    assert sorted(m.Inverter.objects.values_list("pk", flat=True)) == ["powdrive1", "powdrive2", "senergy1"]


def test_without_a_config_file_the_default_structure_is_created(config_path: Path) -> None:
    output = run("first_start")
    assert "created system system" in output
    assert list(m.InverterArray.objects.values_list("pk", flat=True)) == ["array1"]


def test_afterwards_the_database_wins_and_the_file_is_not_read(config_path: Path) -> None:
    sys = f.system("system", name="Edited in the admin")
    f.array("array1", sys)
    shutil.copy(EXAMPLE, config_path)
    before = catalog_dump()
    output = run("first_start")
    assert "configuration comes from the database" in output
    assert "is not read" in output
    assert catalog_dump() == before
    assert m.System.objects.get().name == "Edited in the admin"


def test_an_invalid_config_file_stops_the_first_start_and_writes_nothing(config_path: Path) -> None:
    shutil.copy(MALFORMED / "unknown_array.yaml", config_path)
    with pytest.raises(CommandError) as err:
        run("first_start")
    assert "is invalid; nothing was written" in str(err.value)
    assert "inverters[2].array_id: unknown array 'array9' (config.yaml line 14)" in str(err.value)
    assert not m.System.objects.exists()
