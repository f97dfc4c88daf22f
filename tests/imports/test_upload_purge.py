"""Old browser uploads are deleted on schedule, except files a queued or running import reads."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from kehu.imports.models import ImportJob, JobStatus
from kehu.imports.uploads import do_purge_old_uploads


def upload(root: Path, name: str, age_hours: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    path = folder / f"{name}.csv"
    path.write_text("姓名\n王芳\n", encoding="utf-8")
    stamp = (timezone.now() - dt.timedelta(hours=age_hours)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


@pytest.mark.django_db
def test_it_purges_old_uploads_but_not_those_an_import_still_reads(settings: Any, tmp_path: Path) -> None:
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    settings.IMPORT_UPLOAD_TTL_HOURS = 24
    old = upload(settings.IMPORT_UPLOAD_DIR, "old", 48)
    fresh = upload(settings.IMPORT_UPLOAD_DIR, "fresh", 1)
    running = upload(settings.IMPORT_UPLOAD_DIR, "running", 48)
    finished = upload(settings.IMPORT_UPLOAD_DIR, "finished", 48)
    ImportJob.objects.create(kind="customers", file_name=str(running), source="crm", status=JobStatus.RUNNING)
    ImportJob.objects.create(kind="customers", file_name=str(finished), source="crm", status=JobStatus.SUCCEEDED)

    assert do_purge_old_uploads() == 2

    assert not old.exists() and not old.parent.exists()
    assert not finished.exists()
    assert fresh.exists() and running.exists()
    assert do_purge_old_uploads() == 0


@pytest.mark.django_db
def test_it_does_nothing_without_an_upload_folder(settings: Any, tmp_path: Path) -> None:
    settings.IMPORT_UPLOAD_DIR = tmp_path / "never-made"
    assert do_purge_old_uploads() == 0


def test_the_scheduler_runs_the_purge() -> None:
    from kehu.ops.scheduler import periodic_jobs

    assert "purge-uploads" in {job.name for job in periodic_jobs()}
