"""Shared fixtures: reference data and one user per role."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.accounts.models import Role, User
from tests.factories import make_reference_data, make_user


@pytest.fixture
def ref(db: Any) -> dict[str, Any]:
    return make_reference_data()


@pytest.fixture
def users(ref: dict[str, Any]) -> dict[str, User]:
    """One user per role; the store manager manages the Shanghai store only."""
    made = {role.value: make_user(role.value, username=role.value) for role in Role if role != Role.STORE_MANAGER}
    made[Role.STORE_MANAGER.value] = make_user(
        Role.STORE_MANAGER.value, username="store_manager", stores=[ref["stores"]["sh-01"]]
    )
    return made


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _test_settings(settings: Any) -> Any:
    """Tests read messages in English unless they ask for Chinese (the product's default)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    # Tests do not run collectstatic, so pages link static files without the hashed manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with translation.override("en"):
        yield
