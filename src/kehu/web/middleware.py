"""Middleware of the web UI: the Content-Security-Policy of every page (only our own scripts, styles and
images) and the sliding idle timeout of staff sessions."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/docs"):
            response.setdefault("Content-Security-Policy", POLICY)
        return response


SESSION_REFRESHED_KEY = "_kehu_refreshed"


class SessionIdleTimeoutMiddleware:
    """Sliding idle timeout without writing the session on every request.

    `SESSION_COOKIE_AGE` is an idle timeout: each request of a signed-in user pushes the expiry
    forward. Django's `SESSION_SAVE_EVERY_REQUEST` does that with a database write (and a commit)
    per request; here the session is re-saved only when its last refresh is older than
    `KEHU_SESSION_REFRESH_SECONDS` (default 60): a session expires between `SESSION_COOKIE_AGE` minus
    that interval and `SESSION_COOKIE_AGE` after its last request, and busy pages cost no session write.
    Place it after `SessionMiddleware`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.interval = int(getattr(settings, "KEHU_SESSION_REFRESH_SECONDS", 60))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty():
            return response  # anonymous visitors get no session
        now = int(time.time())
        if session.modified or now - int(session.get(SESSION_REFRESHED_KEY, 0)) >= self.interval:
            # Marks it modified: SessionMiddleware saves it with an expiry pushed forward.
            session[SESSION_REFRESHED_KEY] = now
        return response
