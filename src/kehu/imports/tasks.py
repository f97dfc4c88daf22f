"""Background import jobs (Django's tasks API; enqueued on commit by `actions.enqueue_import`)."""

from __future__ import annotations

import contextlib

from django_tasks import task

from kehu.imports.models import ImportJob, JobStatus
from kehu.imports.readers import UnusableInput


@task()
def run_import_job(job_id: int) -> dict[str, int]:
    """Run a queued import. A job that is no longer queued (a retry after it ran) is left alone,
    so a duplicate delivery of the task cannot import twice."""
    from kehu.imports.actions import do_run_import

    claimed = ImportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(status=JobStatus.RUNNING)
    job = ImportJob.objects.get(pk=job_id)
    if not claimed:
        return job.summary()
    with contextlib.suppress(UnusableInput):  # recorded on the job
        do_run_import(job)
    return job.summary()
