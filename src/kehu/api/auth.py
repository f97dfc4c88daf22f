"""Who is calling: bearer tokens for machines, the session (with CSRF) for the browser; and what
they may do: a token's scope AND its user's role capability."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from kehu.accounts import policy
from kehu.accounts.tokens import SCOPE_CAPABILITIES, verify_token

if TYPE_CHECKING:
    from kehu.accounts.models import ApiToken, User


class TokenAuth(HttpBearer):
    """`Authorization: Bearer kehu_<prefix>_<secret>`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        api_token = verify_token(token)
        if api_token is None:
            return None
        request.api_token = api_token
        user: User = api_token.user
        return user


class BrowserSessionAuth(SessionAuth):
    """The logged-in browser session, CSRF-checked on unsafe methods."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a logged-in session the answer is 401; checking CSRF first would turn a
        # missing or wrong token into a misleading 403.
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        request.api_token = None
        return super().authenticate(request, key)


token_auth = TokenAuth()
session_auth = BrowserSessionAuth()


def request_token(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "api_token", None)


def require(request: HttpRequest, scope: str) -> User:
    """The calling user, if the token (when there is one) holds `scope` and the user's role grants
    the matching capability; otherwise 403. A session acts with its user's role alone."""
    user: User = request.auth
    token = request_token(request)
    if token is not None and scope not in token.scopes:
        raise HttpError(403, f"This token lacks the {scope} scope.")
    policy.check(user, SCOPE_CAPABILITIES[scope])
    return user
