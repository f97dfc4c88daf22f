from __future__ import annotations

import pytest
from django.db import transaction
from django.test import override_settings

from kehu.customers.models import Customer
from kehu.imports.actions import check_create_job, do_request_cancel, do_run_import, enqueue_import
from kehu.imports.models import ImportJob, JobStatus
from tests.imports.conftest import write_csv
from tests.imports.test_customer_import import people

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.django_db
@override_settings(TASKS=IMMEDIATE)
def test_it_runs_an_import_as_a_background_task_after_commit(files, users, django_capture_on_commit_callbacks):
    path = write_csv(files / "c.csv", people(30))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        job = check_create_job(users["admin"], "customers", path, source="crm")
        enqueue_import(job)
        assert ImportJob.objects.get(pk=job.pk).status == JobStatus.QUEUED
    job.refresh_from_db()
    assert (job.status, job.rows_processed, job.rows_total, job.created_by) == (
        JobStatus.SUCCEEDED,
        30,
        30,
        users["admin"],
    )
    assert job.summary() == {"created": 30, "updated": 0, "unchanged": 0, "errors": 0}
    assert job.started_at <= job.finished_at


@pytest.mark.django_db
def test_it_stops_between_chunks_when_cancelled_and_keeps_committed_chunks(files):
    path = write_csv(files / "c.csv", people(100))
    job = check_create_job(None, "customers", path, source="crm")
    do_run_import(job, chunk_rows=40, progress=lambda n: do_request_cancel(job))
    job.refresh_from_db()
    assert (job.status, job.rows_processed, job.created) == (JobStatus.CANCELLED, 40, 40)
    assert Customer.objects.count() == 40
