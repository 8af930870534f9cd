"""Running behind the HTTPS proxy: Django's deployment check passes, cookies and HSTS follow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # (The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for this process; a deployment never has it.)
    # SQLite in the temporary data directory, whatever database the test run uses.
    environ = {k: v for k, v in os.environ.items()
               if k not in ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL", "CELERY_BROKER_URL")}
    environ.update({"SOLARMON_DATA_DIR": str(tmp_path), "SECRET_KEY": "k3y-" + "x9Q" * 20,
                    "ALLOWED_HOSTS": "solar.example.org", **env})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.timeout(120)
def test_check_deploy_is_clean_behind_the_proxy(tmp_path: Path) -> None:
    done = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", SOLARMON_BEHIND_PROXY="true")
    assert done.returncode == 0, done.stdout + done.stderr
    shown = _manage(tmp_path, "shell", "-c", "from django.conf import settings as s; print("
                    "s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
                    "s.SECURE_HSTS_SECONDS > 0)", SOLARMON_BEHIND_PROXY="true")
    assert shown.stdout.strip().splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https') True True True"


@pytest.mark.timeout(120)
def test_the_data_directory_and_its_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "solarmon.sqlite3").write_text("")
    (data / "solarmon.sqlite3").chmod(0o644)
    done = _manage(data, "migrate", "-v", "0")
    assert done.returncode == 0, done.stderr
    assert data.stat().st_mode & 0o777 == 0o700
    for path in data.iterdir():
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others"
