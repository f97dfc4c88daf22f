"""Background duplicate scans (Django's tasks API; enqueued on commit by `do_request_scan`)."""

from __future__ import annotations

from django_tasks import task

from kehu.identity.models import DuplicateScan, ScanStatus


@task()
def run_duplicate_scan(scan_id: int) -> int:
    """Run a queued scan; a scan no longer queued (a repeated delivery) is left alone."""
    from kehu.identity.actions import do_run_scan

    claimed = DuplicateScan.objects.filter(pk=scan_id, status=ScanStatus.QUEUED).update(status=ScanStatus.RUNNING)
    scan = DuplicateScan.objects.get(pk=scan_id)
    if claimed:
        scan = do_run_scan(scan)
    return scan.suggestions_found
