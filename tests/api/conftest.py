"""API test helpers: tokens per role, and a client that speaks JSON with a bearer token."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from kehu.accounts.models import User
from kehu.accounts.tokens import SCOPES, issue_token


@pytest.fixture(autouse=True)
def _api_settings(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.api.urls"
    # Argon2 for the six users of every test would dominate the run time; tokens do not use it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class ApiClient:
    """A test client sending JSON with `Authorization: Bearer <token>`."""

    def __init__(self, token: str | None = None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**out, **(headers or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.client.get(path, params, headers=self._headers(headers))

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.generic(method, path, data, content_type="application/json", headers=self._headers(headers))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.send("POST", path, body, headers)

    def patch(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.send("PATCH", path, body, headers)


@pytest.fixture
def api_as(users: dict[str, User]) -> Callable[..., ApiClient]:
    """`api_as("sales")`: a client with a token holding every scope (or the given ones) for that role."""

    def make(role: str, scopes: tuple[str, ...] = SCOPES) -> ApiClient:
        _token, raw = issue_token(users[role], f"test {role}", scopes)
        return ApiClient(raw)

    return make
