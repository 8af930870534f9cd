"""A burst of wrong passwords locks that user out from that address, says so, logs it, and can be undone."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "right-password-for-tests"
LOGINS = {"admin": "/admin/login/", "dashboard": "/login/", "api": "/api-auth/login/"}


@pytest.fixture
def installer(db: None) -> User:
    return User.objects.create_user("installer", password=PASSWORD, is_staff=True)


def _login(client: Client, where: str, password: str, address: str = "192.0.2.10") -> int:
    response = client.post(LOGINS[where], {"username": "installer", "password": password},
                           REMOTE_ADDR=address)
    return int(response.status_code)


@pytest.mark.parametrize("where", sorted(LOGINS))
def test_a_burst_of_wrong_passwords_locks_the_login_with_a_clear_message(
        where: str, installer: User, caplog: pytest.LogCaptureFixture) -> None:
    client = Client()
    with caplog.at_level(logging.WARNING, logger="axes"):
        codes = [_login(client, where, f"guess{i}") for i in range(settings.AXES_FAILURE_LIMIT)]
    assert 429 not in codes[:-1]  # the wrong guesses before the limit are answered normally
    locked = client.post(LOGINS[where], {"username": "installer", "password": PASSWORD},
                         REMOTE_ADDR="192.0.2.10")
    assert locked.status_code == 429  # even the right password is refused now
    assert b"Too many failed logins" in locked.content
    assert b"opens again after 1:00:00" in locked.content and b"axes_reset_username" in locked.content
    lockout_lines = [r.getMessage() for r in caplog.records if "locking out" in r.getMessage().lower()]
    assert lockout_lines and "installer" in lockout_lines[0] and "192.0.2.10" in lockout_lines[0]


def test_the_lock_is_per_user_and_address(installer: User) -> None:
    client = Client()
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "admin", f"guess{i}")
    assert _login(client, "admin", PASSWORD) == 429
    assert _login(Client(), "admin", PASSWORD, address="192.0.2.99") == 302  # the owner elsewhere gets in
    User.objects.create_user("other", password=PASSWORD, is_staff=True)
    other = Client().post("/admin/login/", {"username": "other", "password": PASSWORD},
                          REMOTE_ADDR="192.0.2.10")
    assert other.status_code == 302  # and other accounts from the same address are not locked


def test_the_unlock_command_lets_the_user_in_again(installer: User) -> None:
    client = Client()
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "dashboard", f"guess{i}")
    assert _login(client, "dashboard", PASSWORD) == 429
    call_command("axes_reset_username", "installer")
    assert _login(client, "dashboard", PASSWORD) == 302
