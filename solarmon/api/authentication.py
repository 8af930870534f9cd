"""API token authentication: django-rest-knox's digest check, without its per-request sweep.

knox stores only a SHA-512 digest of each token and checks a presented token against the
rows that share its first eight characters; that check is kept as it is (one query that reads
the token with its user, a digest compared in constant time, the user's ``is_active``, the
token's expiry), so a deleted token or a deactivated user is refused at the next request.

What is left out is knox's sweep of the *other* tokens of the same user at every request
(it reads all of them to delete the expired ones): a query whose cost grows with the number
of tokens a user holds, for rows that can never authenticate anyway. solarmon's tokens do not
expire by default (``REST_KNOX["TOKEN_TTL"]``); with a TTL set, an expired token is still
refused and deleted when it is presented, as knox does.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.signals import token_expired


class TokenAuthentication(KnoxTokenAuthentication):
    """``Authorization: Token <token>``: one query per request, whatever the user's token count."""

    def _cleanup_token(self, auth_token: Any) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of these tokens: knox's, under the same name."""

    target_class = "solarmon.api.authentication.TokenAuthentication"
