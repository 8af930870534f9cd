"""``manage.py serve``: the production web server (gunicorn), as `make run` and systemd start it.

Workers, threads and the address come from settings (SOLARMON_WEB_WORKERS, SOLARMON_WEB_THREADS,
SOLARMON_BIND, SOLARMON_PORT); access and error logs go to stdout. Static files are served
by whitenoise inside the application.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import gunicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def gunicorn_argv(bind: str, port: int) -> list[str]:
    """The command line of the web server."""
    host = f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind
    return [sys.executable, "-m", "gunicorn", "solarmon.wsgi:application",
            "--bind", f"{host}:{port}",
            # Threads: a dashboard's polling and a slow client never hold a whole process.
            "--worker-class", "gthread",
            "--workers", str(settings.SOLARMON_WEB_WORKERS),
            "--threads", str(settings.SOLARMON_WEB_THREADS),
            # A request stuck longer than this (a locked database) is ended and its worker replaced.
            "--timeout", "60", "--graceful-timeout", "10",
            # Recycle workers now and then so a slow leak never grows on a Pi left running for years.
            "--max-requests", "5000", "--max-requests-jitter", "500",
            "--access-logfile", "-", "--error-logfile", "-",
            "--forwarded-allow-ips", "127.0.0.1,::1" if settings.SOLARMON_BEHIND_PROXY else "",
            "--name", "solarmon-web",
            # gunicorn 27 opens a control socket in the account's home (~/.gunicorn/gunicorn.ctl) that
            # solarmon never uses, and that two servers on one host would take from each other.
            *(["--no-control-socket"] if gunicorn.version_info >= (27,) else [])]


class Command(BaseCommand):
    help = "Serve solarmon with gunicorn (the production web server)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=settings.SOLARMON_BIND, help="address to listen on")
        parser.add_argument("--port", type=int, default=settings.SOLARMON_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        argv = gunicorn_argv(options["bind"], options["port"])
        os.execv(argv[0], argv)
