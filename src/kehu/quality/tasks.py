"""Background bulk fixes of the data-quality page."""

from __future__ import annotations

from django_tasks import task

from kehu.quality.models import FixRun, FixStatus


@task()
def run_fix_task(run_id: int) -> int:
    """Run a queued fix once (a duplicate delivery finds it no longer queued)."""
    from kehu.quality.actions import do_run_fix

    claimed = FixRun.objects.filter(pk=run_id, status=FixStatus.QUEUED).update(status=FixStatus.RUNNING)
    run = FixRun.objects.select_related("created_by").get(pk=run_id)
    if claimed:
        do_run_fix(run)
    return run.changed


@task()
def count_check_task(user_id: int, check_key: str) -> int | None:
    """Count a heavy check for a user's scope (the page polls until the count is kept)."""
    from kehu.accounts.models import User
    from kehu.quality.actions import do_count_check
    from kehu.quality.checks import get_check

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    return do_count_check(user, get_check(check_key)).count
