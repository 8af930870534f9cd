"""Request facts the login protection needs."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address a login attempt came from.

    Behind the reverse proxy (``SOLARMON_BEHIND_PROXY``) every request arrives from the proxy,
    so the client is the last address the proxy appended to ``X-Forwarded-For``; addresses
    before it were sent by the client and cannot be trusted. Otherwise ``REMOTE_ADDR``.
    """
    if settings.SOLARMON_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return str(request.META.get("REMOTE_ADDR", ""))
