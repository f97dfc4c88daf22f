"""Background export jobs (Django's tasks API; enqueued on commit by `actions.do_create_job`)."""

from __future__ import annotations

from django_tasks import task

from kehu.exports.models import ExportJob, ExportStatus


@task()
def run_export_job(job_id: int) -> int:
    """Run a queued export; a job that is no longer queued (a duplicate delivery) is left alone."""
    from kehu.exports.actions import do_run_export

    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(status=ExportStatus.RUNNING)
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    if claimed:
        do_run_export(job)
    return job.rows_written
