"""Fixtures of the export tests: the web tests' clients and customers, a private export folder
and tasks that run at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import beijing_customer, client_for, shanghai_customer  # noqa: F401

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _export_settings(settings: Any, tmp_path: Path) -> None:
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.TASKS = IMMEDIATE
    # The role fixtures create six users; Argon2 at full cost would dominate these tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
