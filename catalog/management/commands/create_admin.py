"""``manage.py create_admin``: make the first admin login, with a random password printed once."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create a superuser with a random password (printed once) unless one exists."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin login exists (its password was printed when it was created; "
                              "reset it with `manage.py changepassword admin`).")
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(options["username"], email="", password=password)
        banner = "=" * 64
        self.stdout.write(f"{banner}\nAdmin login created. It is shown only this once:\n"
                          f"  username: {options['username']}\n  password: {password}\n{banner}")
