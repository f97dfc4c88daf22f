"""Background tasks of the scoring app."""

from __future__ import annotations

from django_tasks import task

from kehu.scoring.models import ScoringRun


@task()
def run_scoring_task(run_id: int) -> int:
    """Run a queued scoring run; returns the number of customers scored."""
    from kehu.scoring.actions import do_run_scoring

    run = do_run_scoring(ScoringRun.objects.get(pk=run_id))
    return run.customers_scored
