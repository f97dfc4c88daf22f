"""The sliding idle timeout of staff sessions: pushed forward at most once a minute, not on every request."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kehu.web import middleware

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(2_000_000_000.0)
    monkeypatch.setattr(middleware.time, "time", fake.time)
    return fake


def _session_writes(queries: list[dict[str, Any]]) -> list[str]:
    return [q["sql"] for q in queries if "django_session" in q["sql"] and not q["sql"].lstrip().startswith("SELECT")]


def _expiry(client: Client) -> Any:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_it_saves_the_session_once_per_interval_not_on_every_request(
    client_for: Any, clock: Clock, settings: Any
) -> None:
    settings.KEHU_SESSION_REFRESH_SECONDS = 60
    client = client_for("service")
    client.get("/")  # the first request stamps the session
    first_expiry = _expiry(client)

    clock.now += 30
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    assert _session_writes(ctx.captured_queries) == []
    assert _expiry(client) == first_expiry

    clock.now += 31  # 61 s since the last save: the expiry moves forward
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    assert len(_session_writes(ctx.captured_queries)) >= 1
    assert _expiry(client) > first_expiry


def test_a_session_the_page_modified_is_stamped_at_once(clock: Clock) -> None:
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse
    from django.test import RequestFactory

    store = SessionStore()
    store["_auth_user_id"] = "1"
    store[middleware.SESSION_REFRESHED_KEY] = int(clock.now)
    store.save()
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key=store.session_key)

    def view(req: Any) -> HttpResponse:
        req.session["basket"] = [1]  # the page itself changes the session
        return HttpResponse("ok")

    clock.now += 5
    middleware.SessionIdleTimeoutMiddleware(view)(request)
    assert request.session.modified
    assert request.session[middleware.SESSION_REFRESHED_KEY] == int(clock.now)


def test_anonymous_visitors_get_no_session(clock: Clock) -> None:
    before = Session.objects.count()
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert Session.objects.count() == before


def test_a_session_past_its_idle_timeout_is_signed_out(client_for: Any, settings: Any) -> None:
    client = client_for("service")
    assert client.get("/").status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=Session.objects.get(session_key=client.session.session_key).expire_date.replace(year=2000)
    )
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
