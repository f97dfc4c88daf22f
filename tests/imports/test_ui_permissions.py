"""Who may use the import pages: every role against every page. Refusals are 403 and change
nothing (no job, no file kept, no mapping saved, no cancel, no revert)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kehu.accounts.models import Role
from kehu.customers.models import Customer
from kehu.imports.actions import check_create_job, do_run_import
from kehu.imports.models import ImportJob, JobStatus, SavedMapping
from kehu.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db
ALLOWED = {Role.ADMIN, Role.MARKETING, Role.SALES}
CSV = "客户编号,姓名,手机号\nC1,王芳,13800138000\nC2,李雷,13900000002\n".encode()


@pytest.fixture
def setup(settings: Any, tmp_path: Path, users: Any) -> dict[str, Any]:
    """A finished real import (revertable), a finished dry run and a queued job, with its file
    under the private upload folder, plus an upload in progress in the session."""
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    folder = settings.IMPORT_UPLOAD_DIR / "f"
    folder.mkdir(parents=True)
    path = folder / "c.csv"
    path.write_bytes(CSV)
    done = do_run_import(check_create_job(users["admin"], "customers", path, source="crm"))
    dry = do_run_import(check_create_job(users["admin"], "customers", path, source="crm", dry_run=True))
    queued = check_create_job(users["admin"], "customers", path, source="crm")
    return {"path": path, "done": done, "dry": dry, "queued": queued}


def pages(s: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    done, dry, queued = s["done"].pk, s["dry"].pk, s["queued"].pk
    return [
        ("get", "/imports/", {}),
        ("get", "/imports/new/", {}),
        (
            "post",
            "/imports/new/",
            {"kind": "customers", "source": "crm", "mode": "skip", "file": SimpleUploadedFile("n.csv", CSV)},
        ),
        ("get", "/imports/new/TOKEN/map/", {}),
        (
            "post",
            "/imports/new/TOKEN/map/",
            {"column_0": "source_id", "column_1": "name", "column_2": "phone", "save_as": "saved by someone"},
        ),
        ("get", "/imports/new/TOKEN/preview/", {}),
        ("post", "/imports/new/TOKEN/start/", {"dry_run": "0"}),
        ("get", f"/imports/jobs/{done}/", {}),
        ("get", f"/imports/jobs/{queued}/progress/", {}),
        ("post", f"/imports/jobs/{queued}/cancel/", {}),
        ("post", f"/imports/jobs/{dry}/run/", {}),
        ("get", f"/imports/jobs/{done}/report.csv", {}),
        ("get", f"/imports/jobs/{done}/revert/", {}),
        ("post", f"/imports/jobs/{done}/revert/", {}),
    ]


def state(s: dict[str, Any]) -> tuple[Any, ...]:
    return (
        list(ImportJob.objects.order_by("pk").values_list("pk", "status", "cancel_requested")),
        Customer.objects.count(),
        SavedMapping.objects.count(),
        AuditEvent.objects.count(),
        sorted(str(p) for p in Path(s["path"]).parent.parent.rglob("*")),
    )


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_on_every_import_page(client: Client, users: Any, setup: dict[str, Any], role: str) -> None:
    client.force_login(users[role])
    session = client.session
    session["import_uploads"] = {
        "TOKEN": {
            "kind": "customers",
            "source": "crm",
            "mode": "skip",
            "path": str(setup["path"]),
            "name": "c.csv",
            "mapping": {"客户编号": "source_id", "姓名": "name", "手机号": "phone"},
        }
    }
    session.save()
    for method, url, data in pages(setup):
        before = state(setup)
        response = getattr(client, method)(url, data)
        if role in ALLOWED:
            assert response.status_code in (200, 302), (role, method, url, response.status_code)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
            assert state(setup) == before, (role, method, url)
    if role in ALLOWED:
        assert ImportJob.objects.get(pk=setup["done"].pk).status == JobStatus.REVERTED
        assert ImportJob.objects.get(pk=setup["queued"].pk).cancel_requested
        assert SavedMapping.objects.filter(name="saved by someone").exists()


def test_anonymous_visitors_are_sent_to_log_in(client: Client, setup: dict[str, Any]) -> None:
    before = state(setup)
    for method, url, data in pages(setup):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert state(setup) == before


def test_an_upload_token_belongs_to_the_session_that_made_it(client: Client, users: Any, setup: dict[str, Any]) -> None:
    client.force_login(users["admin"])
    for url in ("/imports/new/TOKEN/map/", "/imports/new/TOKEN/preview/"):
        assert client.get(url).status_code == 404
    assert client.post("/imports/new/TOKEN/start/", {"dry_run": "0"}).status_code == 404
