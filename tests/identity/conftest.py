"""Fixtures for the identity tests: fast password hashing and logged-in clients per role."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kehu.accounts.models import User


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_for(users: dict[str, User]) -> Any:
    def make(role: str) -> Client:
        client = Client()
        client.force_login(users[role])
        return client

    return make
