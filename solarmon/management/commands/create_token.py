"""``manage.py create_token USERNAME``: a new API token, printed once.

Tokens are stored as digests (django-rest-knox), so a lost token cannot be shown again:
create another and delete the old one in the admin (Knox › Auth tokens).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Create an API token for a user and print it once (it is stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=None,
                            help="expire after this many days (default: never)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        expiry = timedelta(days=options["days"]) if options["days"] else None
        _, token = AuthToken.objects.create(user=user, expiry=expiry)
        self.stdout.write(f"Generated token {token} for user {user.get_username()}")
